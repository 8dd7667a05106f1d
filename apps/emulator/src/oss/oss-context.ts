import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { RequestLogEntry } from '../admin/request-log.js';
import type { OssAuthenticator, OssPrincipal } from '../auth/oss-authenticator.js';
import type { FaultInjector } from '../faults/fault-injector.js';
import { cutAfter } from '../faults/throttle.js';
import type { ObjectStore } from '../storage/object-store.js';
import { toXml, type XmlNode } from '../util/xml.js';
import type { YoungGarbageCollector } from '../util/young-gc.js';
import { type OssError, ossErrors } from './oss-error.js';

export interface OssDeps {
  store: ObjectStore;
  auth: OssAuthenticator;
  faults: FaultInjector;
  logger: Logger;
  /** Bench mode: no MD5 on PutObject / UploadPart bodies (see `EmulatorOptions.benchMode`). */
  benchMode: boolean;
  /** Young-generation GCs paced by body bytes (see `YoungGarbageCollector`). */
  youngGc?: YoungGarbageCollector | undefined;
  region: string;
}

/** One OSS request on its way through the pipeline. */
export interface OssContext {
  req: IncomingMessage;
  res: ServerResponse;
  deps: OssDeps;
  requestId: string;
  bucket: string;
  /** Decoded object key; undefined for bucket-level requests. */
  key: string | undefined;
  query: ReadonlyMap<string, string>;
  operation: string;
  /** `<bucket>.oss-<region>.aliyuncs.com`, as error bodies name the host. */
  hostId: string;
  log: RequestLogEntry;
  principal?: OssPrincipal;
  /** Injected fault: destroy the socket after this many body bytes. */
  cutAfter?: number;
}

export const MAX_OBJECT_SIZE = 5 * 1024 ** 3;

export function sendXml(
  ctx: OssContext,
  status: number,
  root: string,
  body: XmlNode,
  headers: OutgoingHttpHeaders = {},
): void {
  const xml = Buffer.from(toXml(root, body), 'utf8');
  ctx.res.writeHead(status, { ...headers, 'Content-Type': 'application/xml', 'Content-Length': xml.length });
  ctx.res.end(xml);
}

export function sendEmpty(ctx: OssContext, status: number, headers: OutgoingHttpHeaders = {}): void {
  ctx.res.writeHead(status, { 'Content-Length': 0, ...headers });
  ctx.res.end();
}

/** OSS error XML (HEAD: no body, the XML base64-encoded in `x-oss-err` as OSS does). */
export function sendOssError(ctx: OssContext, err: OssError): void {
  const { res } = ctx;
  ctx.log.errorCode = err.code;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body: XmlNode = {
    Code: err.code,
    Message: err.message,
    RequestId: ctx.requestId,
    HostId: ctx.hostId,
    ...err.extra,
  };
  if (err.ec) body.EC = err.ec;
  const xml = Buffer.from(toXml('Error', body), 'utf8');
  const headers: OutgoingHttpHeaders = { 'Content-Type': 'application/xml' };
  if (err.ec) headers['x-oss-ec'] = err.ec;
  if (ctx.req.method === 'HEAD') {
    headers['x-oss-err'] = xml.toString('base64');
    headers['Content-Length'] = 0;
    res.writeHead(err.status, headers);
    res.end();
    return;
  }
  headers['Content-Length'] = xml.length;
  res.writeHead(err.status, headers);
  res.end(xml);
}

/** `x-oss-meta-*` request headers (names lower-cased, as OSS stores them). */
export function metaFromHeaders(req: IncomingMessage): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith('x-oss-meta-') && value !== undefined) {
      meta[name.slice('x-oss-meta-'.length)] = Array.isArray(value) ? value.join(',') : value;
    }
  }
  return meta;
}

/** Content-Length as a number, undefined when absent (chunked), or an OSS error when malformed. */
export function contentLength(req: IncomingMessage): number | undefined {
  const raw = req.headers['content-length'];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw ossErrors.invalidArgument('Invalid Content-Length.');
  return n;
}

/** The decoded Content-MD5 header (16 bytes), undefined when absent; malformed → InvalidDigest. */
export function contentMd5(req: IncomingMessage): Buffer | undefined {
  const header = req.headers['content-md5'];
  if (header === undefined) return undefined;
  const raw = Array.isArray(header) ? header.join(',') : header;
  const digest = Buffer.from(raw, 'base64');
  if (digest.length !== 16 || digest.toString('base64') !== raw.trim()) throw ossErrors.invalidDigest();
  return digest;
}

/**
 * The request body, counted into the log and passed through the bandwidth throttle (looked up per chunk,
 * so it can change mid-body) — one generator layer, since every chunk of every upload passes here.
 */
export async function* requestBody(
  ctx: OssContext,
  source: AsyncIterable<Buffer> = ctx.req,
): AsyncGenerator<Buffer> {
  const log = ctx.log;
  const faults = ctx.deps.faults;
  let body = source;
  if (ctx.cutAfter !== undefined) {
    body = cutAfter(body, ctx.cutAfter, () => {
      log.errorCode = 'ConnectionCut';
      ctx.req.socket.destroy();
    });
  }
  const youngGc = ctx.deps.youngGc;
  for await (const chunk of body) {
    log.bytes += chunk.length;
    youngGc?.add(chunk.length);
    const throttle = faults.throttle;
    if (throttle) await throttle.take(chunk.length);
    yield chunk;
  }
}

/** `"<UPPER HEX>"`. */
export function quoteEtag(hex: string): string {
  return `"${hex.toUpperCase()}"`;
}

/** ETags compare without quotes and case (clients echo them in various forms). */
export function normalizeEtag(etag: string): string {
  return etag
    .trim()
    .replace(/^"|"$/g, '')
    .replace(/^&quot;|&quot;$/g, '')
    .toUpperCase();
}
