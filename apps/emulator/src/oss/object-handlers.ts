import type { OutgoingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { throttled } from '../faults/throttle.js';
import {
  BlobTooLargeError,
  IncompleteBodyError,
  type WrittenBlob,
  writeBlob,
} from '../storage/blob-writer.js';
import { parseRange, readSegments } from '../storage/object-reader.js';
import type { ObjectRecord } from '../storage/object-store.js';
import { httpDate } from '../util/time.js';
import {
  contentLength,
  contentMd5,
  MAX_OBJECT_SIZE,
  metaFromHeaders,
  normalizeEtag,
  type OssContext,
  quoteEtag,
  requestBody,
  sendEmpty,
} from './oss-context.js';
import { OssError, ossErrors } from './oss-error.js';

/**
 * Streams a request body to a new blob, mapping size problems to OSS errors. Shared by PutObject and
 * UploadPart.
 */
export async function receiveBlob(
  ctx: OssContext,
  body: AsyncIterable<Buffer>,
  md5: boolean,
): Promise<WrittenBlob> {
  const length = contentLength(ctx.req);
  if (length !== undefined && length > MAX_OBJECT_SIZE) {
    // Refused unread: close the connection rather than drain gigabytes.
    ctx.res.setHeader('Connection', 'close');
    throw ossErrors.entityTooLarge(length);
  }
  try {
    return await writeBlob(body, ctx.deps.store.blobDir, {
      md5,
      maxBytes: MAX_OBJECT_SIZE,
      ...(length === undefined ? {} : { expectedLength: length }),
    });
  } catch (err) {
    if (err instanceof BlobTooLargeError) throw ossErrors.entityTooLarge(err.size);
    if (err instanceof IncompleteBodyError) throw ossErrors.incompleteBody();
    throw err;
  }
}

/** Checks a received body against its Content-MD5; on mismatch the blob is dropped → BadDigest. */
export function checkDigest(ctx: OssContext, blob: WrittenBlob, expected: Buffer | undefined): void {
  if (expected === undefined || blob.md5 === undefined || expected.equals(blob.md5)) return;
  ctx.deps.store.retain([blob]);
  ctx.deps.store.release([blob]);
  throw ossErrors.badDigest(expected.toString('base64'), blob.md5.toString('base64'));
}

/** Quoted ETag of a received body: its MD5, or in bench mode (no MD5) CRC-64 and size in hex. */
export function blobEtag(blob: WrittenBlob): string {
  const hex = blob.md5
    ? blob.md5.toString('hex')
    : blob.crc64.toString(16).padStart(16, '0') + blob.size.toString(16).padStart(16, '0');
  return quoteEtag(hex);
}

export async function putObject(ctx: OssContext): Promise<void> {
  const { store } = ctx.deps;
  const key = ctx.key!;
  if (ctx.req.headers['x-oss-copy-source'] !== undefined) throw ossErrors.notImplemented('CopyObject');
  if (ctx.req.headers['x-oss-forbid-overwrite'] === 'true' && store.getObject(ctx.bucket, key)) {
    throw new OssError(
      409,
      'FileAlreadyExists',
      'The object you specified already exists and can not be overwritten.',
    );
  }
  const expectedMd5 = contentMd5(ctx.req);
  const contentType = ctx.req.headers['content-type'] || 'application/octet-stream';
  const meta = metaFromHeaders(ctx.req);
  const blob = await receiveBlob(ctx, requestBody(ctx), !ctx.deps.benchMode || expectedMd5 !== undefined);
  checkDigest(ctx, blob, expectedMd5);
  const etag = blobEtag(blob);
  store.retain([blob]);
  store.putObject({
    bucket: ctx.bucket,
    key,
    size: blob.size,
    etag,
    crc64: blob.crc64,
    contentType,
    meta,
    lastModified: new Date(),
    objectType: 'Normal',
    segments: [{ file: blob.file, size: blob.size }],
  });
  sendEmpty(ctx, 200, {
    ETag: etag,
    ...(blob.md5 ? { 'Content-MD5': blob.md5.toString('base64') } : {}),
    'x-oss-hash-crc64ecma': blob.crc64.toString(),
  });
}

function objectHeaders(obj: ObjectRecord): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {
    'Content-Type': obj.contentType,
    ETag: obj.etag,
    'Last-Modified': httpDate(obj.lastModified),
    'Accept-Ranges': 'bytes',
    'x-oss-object-type': obj.objectType,
    'x-oss-storage-class': 'Standard',
    'x-oss-hash-crc64ecma': obj.crc64.toString(),
  };
  for (const [name, value] of Object.entries(obj.meta)) headers[`x-oss-meta-${name}`] = value;
  return headers;
}

const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'Content-Type',
  'response-content-language': 'Content-Language',
  'response-expires': 'Expires',
  'response-cache-control': 'Cache-Control',
  'response-content-disposition': 'Content-Disposition',
  'response-content-encoding': 'Content-Encoding',
};

/** If-Match / If-None-Match / If-(Un)Modified-Since → 412 error or 304. */
function preconditions(ctx: OssContext, obj: ObjectRecord): 'not-modified' | undefined {
  const h = ctx.req.headers;
  const etag = normalizeEtag(obj.etag);
  const modified = Math.floor(obj.lastModified.getTime() / 1000) * 1000;
  const ifMatch = h['if-match'];
  if (ifMatch !== undefined && normalizeEtag(ifMatch) !== etag && ifMatch.trim() !== '*') {
    throw ossErrors.preconditionFailed('If-Match');
  }
  const unmodifiedSince = h['if-unmodified-since'];
  if (unmodifiedSince !== undefined && Date.parse(unmodifiedSince) < modified) {
    throw ossErrors.preconditionFailed('If-Unmodified-Since');
  }
  const ifNoneMatch = h['if-none-match'];
  if (ifNoneMatch !== undefined && (normalizeEtag(ifNoneMatch) === etag || ifNoneMatch.trim() === '*')) {
    return 'not-modified';
  }
  const modifiedSince = h['if-modified-since'];
  if (ifNoneMatch === undefined && modifiedSince !== undefined && Date.parse(modifiedSince) >= modified) {
    return 'not-modified';
  }
  return undefined;
}

/** GetObject and HeadObject (with Range → 206 + Content-Range, streamed from the part files). */
export async function getObject(ctx: OssContext): Promise<void> {
  const { store, faults } = ctx.deps;
  const obj = store.getObject(ctx.bucket, ctx.key!);
  if (!obj) throw ossErrors.noSuchKey(ctx.key!);
  const headers = objectHeaders(obj);
  if (preconditions(ctx, obj) === 'not-modified') {
    ctx.res.writeHead(304, { ETag: obj.etag, 'Last-Modified': headers['Last-Modified'] });
    ctx.res.end();
    return;
  }
  for (const [param, header] of Object.entries(RESPONSE_OVERRIDES)) {
    const v = ctx.query.get(param);
    if (v !== undefined && ctx.req.method === 'GET') headers[header] = v;
  }
  const range = parseRange(ctx.req.headers.range, obj.size);
  if (range === 'unsatisfiable') throw ossErrors.invalidRange(obj.size);
  const start = range?.start ?? 0;
  const end = range?.end ?? obj.size - 1;
  headers['Content-Length'] = Math.max(0, end - start + 1);
  if (range) headers['Content-Range'] = `bytes ${start}-${end}/${obj.size}`;
  const status = range ? 206 : 200;
  if (ctx.req.method === 'HEAD' || obj.size === 0) {
    ctx.res.writeHead(status, headers);
    ctx.res.end();
    return;
  }
  // Hold the files for the whole transfer: an overwrite or delete meanwhile must not break it.
  const segments = obj.segments;
  store.retain(segments);
  try {
    ctx.res.writeHead(status, headers);
    const log = ctx.log;
    const body = throttled(readSegments(segments, start, end), () => faults.throttle);
    await pipeline(Readable.from(countOut(body, log), { objectMode: false }), ctx.res);
  } finally {
    store.release(segments);
  }
}

async function* countOut(source: AsyncIterable<Buffer>, log: OssContext['log']): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    log.bytes += chunk.length;
    yield chunk;
  }
}

/** GET ?objectMeta: the basic headers only. */
export function getObjectMeta(ctx: OssContext): void {
  const obj = ctx.deps.store.getObject(ctx.bucket, ctx.key!);
  if (!obj) throw ossErrors.noSuchKey(ctx.key!);
  sendEmpty(ctx, 200, {
    ETag: obj.etag,
    'x-oss-object-size': String(obj.size),
    'Last-Modified': httpDate(obj.lastModified),
    'x-oss-hash-crc64ecma': obj.crc64.toString(),
  });
}

/** DeleteObject: 204 whether or not the key existed (as OSS). */
export function deleteObject(ctx: OssContext): void {
  ctx.deps.store.deleteObject(ctx.bucket, ctx.key!);
  sendEmpty(ctx, 204);
}
