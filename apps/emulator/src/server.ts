import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { ADMIN_PREFIX, type AdminDeps, handleAdmin } from './admin/admin-routes.js';
import type { RequestLog, RequestLogEntry } from './admin/request-log.js';
import { OssAuthenticator } from './auth/oss-authenticator.js';
import type { OssDeps } from './oss/oss-context.js';
import { handleOss, type OssTarget, ossOperation } from './oss/oss-router.js';
import { ossRequestId, vodRequestId } from './util/ids.js';
import { handleVod, type VodRouterDeps } from './vod/vod-router.js';

export interface ServerDeps {
  oss: OssDeps;
  vod: VodRouterDeps;
  admin: AdminDeps;
  requestLog: RequestLog;
  logger: Logger;
  region: string;
}

/** Host without port (IPv6 brackets removed), lower-cased. */
function hostname(host: string | undefined): string {
  if (!host) return '';
  const h = host.toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']'));
  const colon = h.lastIndexOf(':');
  return colon >= 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h;
}

/**
 * The bucket a virtual-hosted Host names: `<bucket>.<region>.aliyuncs.com` (what ali-oss sends for
 * an IP endpoint), `<bucket>.localhost`, or any `<bucket>.<host>` whose first label is a known bucket.
 * IPs, `localhost` and other hosts mean path style.
 */
export function bucketFromHost(host: string | undefined, known: (b: string) => boolean): string | undefined {
  const name = hostname(host);
  if (!name || isIP(name) || name === 'localhost') return undefined;
  const labels = name.split('.');
  if (labels.length < 2) return undefined;
  const first = labels[0]!;
  if (name.endsWith('.aliyuncs.com') && labels.length >= 4) return first;
  if (name.endsWith('.localhost') || known(first)) return first;
  return undefined;
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** An RPC call without `x-acs-action` (pop-core GET/form style): `Action` or a form POST on `/`. */
function isRpc(req: IncomingMessage, pathname: string, query: URLSearchParams): boolean {
  if (pathname !== '/') return false;
  if (query.has('Action')) return true;
  return (
    req.method === 'POST' &&
    (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')
  );
}

function newLogEntry(log: RequestLog, service: 'oss' | 'vod', req: IncomingMessage): RequestLogEntry {
  return {
    seq: log.nextSeq(),
    time: new Date().toISOString(),
    service,
    operation: 'Unknown',
    method: req.method ?? 'GET',
    status: 0,
    bytes: 0,
    requestId: service === 'oss' ? ossRequestId() : vodRequestId(),
    durationMs: 0,
  };
}

/**
 * Records `entry` when the response is handed over (`res.end`), or when the connection closes first
 * (reset, cut, client gone) — before the client can read the answer, so a test that asks the admin API
 * right after a response always finds the entry.
 */
function recordOnClose(log: RequestLog, entry: RequestLogEntry, res: ServerResponse, started: number): void {
  let recorded = false;
  const record = () => {
    if (recorded) return;
    recorded = true;
    const dropped = entry.errorCode === 'ConnectionReset' || entry.errorCode === 'ConnectionCut';
    entry.status = !dropped && res.headersSent ? res.statusCode : 0;
    entry.durationMs = Math.round(performance.now() - started);
    log.add(entry);
  };
  const end = res.end;
  res.end = function (this: ServerResponse, ...args: unknown[]) {
    record();
    return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as ServerResponse['end'];
  res.once('close', record);
}

/**
 * One port, three APIs: `/__emulator/*` is the admin API; a request with `x-acs-action` (or an RPC
 * `Action` on `/` of a non-bucket host) is VOD; everything else is OSS — bucket from the Host's first
 * label, or path style `/<bucket>/<key>`.
 */
export function createEmulatorServer(deps: ServerDeps): http.Server {
  const server = http.createServer({ requestTimeout: 0, keepAliveTimeout: 30_000 }, (req, res) => {
    handle(deps, req, res).catch((err) => {
      deps.logger.error({ err }, 'emulator: unhandled request error');
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Length': 0 });
        res.end();
      } else {
        res.destroy();
      }
    });
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  return server;
}

async function handle(deps: ServerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = performance.now();
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));

  if (rawPath === ADMIN_PREFIX || rawPath.startsWith(`${ADMIN_PREFIX}/`)) {
    return handleAdmin(req, res, rawPath, query, deps.admin);
  }

  const store = deps.oss.store;
  const hostBucket = bucketFromHost(req.headers.host, (b) => store.hasBucket(b));
  const queryMap = new Map(query);

  // OSS never sends x-acs-action, whatever the Host (even `vod.<region>.aliyuncs.com`) says.
  if (req.headers['x-acs-action'] !== undefined || (hostBucket === undefined && isRpc(req, rawPath, query))) {
    const entry = newLogEntry(deps.requestLog, 'vod', req);
    recordOnClose(deps.requestLog, entry, res, started);
    return handleVod(req, res, rawPath, queryMap, deps.vod, entry);
  }

  const entry = newLogEntry(deps.requestLog, 'oss', req);
  recordOnClose(deps.requestLog, entry, res, started);
  const path = safeDecode(rawPath);
  let target: OssTarget | undefined;
  if (path !== undefined && hostBucket !== undefined) {
    target = { bucket: hostBucket, key: path.slice(1) || undefined, hostId: hostname(req.headers.host) };
  } else if (path !== undefined) {
    const slash = path.indexOf('/', 1);
    const bucket = slash < 0 ? path.slice(1) : path.slice(1, slash);
    const key = slash < 0 ? undefined : path.slice(slash + 1) || undefined;
    if (bucket) target = { bucket, key, hostId: `${bucket}.oss-${deps.region}.aliyuncs.com` };
  }
  if (!target) {
    // Service-level (ListBuckets) or an undecodable path.
    entry.operation =
      ossOperation(req.method ?? 'GET', undefined, queryMap) === 'ListObjects' ? 'ListBuckets' : 'Unknown';
    entry.errorCode = path === undefined ? 'InvalidURI' : 'NotImplemented';
    res.writeHead(path === undefined ? 400 : 501, {
      'Content-Type': 'application/xml',
      'x-oss-request-id': entry.requestId,
      Server: 'AliyunOSS',
    });
    res.end(
      `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${entry.errorCode}</Code><Message>${
        path === undefined
          ? 'Could not parse the specified URI.'
          : 'The emulator does not implement ListBuckets.'
      }</Message><RequestId>${entry.requestId}</RequestId><HostId>${hostname(req.headers.host)}</HostId></Error>`,
    );
    return;
  }
  const claimed = OssAuthenticator.claimedKeyId(req.headers, queryMap);
  if (claimed) entry.accessKeyId = claimed;
  return handleOss(req, res, target, queryMap, deps.oss, entry);
}
