import { createHash } from 'node:crypto';
import { crc64Combine } from '@mediaferry/crc64';
import { XMLParser } from 'fast-xml-parser';
import type { MultipartUpload, StoredPart } from '../storage/object-store.js';
import { BodyTooLargeError, readSmallBody } from '../util/read-body.js';
import { isoMillis } from '../util/time.js';
import { blobEtag, checkDigest, receiveBlob } from './object-handlers.js';
import {
  contentMd5,
  metaFromHeaders,
  normalizeEtag,
  type OssContext,
  requestBody,
  sendEmpty,
  sendXml,
} from './oss-context.js';
import { ossErrors } from './oss-error.js';

const MIN_PART_SIZE = 100 * 1024;
const MAX_PARTS = 10_000;

function upload(ctx: OssContext): MultipartUpload {
  const uploadId = ctx.query.get('uploadId') ?? '';
  const found = ctx.deps.store.getUpload(ctx.bucket, ctx.key!, uploadId);
  if (!found) throw ossErrors.noSuchUpload(uploadId);
  return found;
}

export function initiateMultipartUpload(ctx: OssContext): void {
  const contentType = ctx.req.headers['content-type'] || 'application/octet-stream';
  const created = ctx.deps.store.initiateUpload(ctx.bucket, ctx.key!, contentType, metaFromHeaders(ctx.req));
  ctx.log.uploadId = created.uploadId;
  sendXml(ctx, 200, 'InitiateMultipartUploadResult', {
    Bucket: ctx.bucket,
    Key: ctx.key!,
    UploadId: created.uploadId,
  });
}

/** `1..10000` exactly, else InvalidArgument. */
export function parsePartNumber(raw: string | undefined): number {
  const n = raw !== undefined && /^\d{1,5}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= 1 && n <= MAX_PARTS)) throw ossErrors.invalidPartNumber(raw ?? '');
  return n;
}

/**
 * UploadPart: the body streams to its own file (MD5 + CRC-64 on the way); re-sending a number replaces
 * the part. In bench mode the ETag is derived from CRC and size instead of an MD5.
 */
export async function uploadPart(
  ctx: OssContext,
  body: AsyncIterable<Buffer> = requestBody(ctx),
): Promise<void> {
  const { store, benchMode } = ctx.deps;
  const partNumber = parsePartNumber(ctx.query.get('partNumber'));
  const target = upload(ctx);
  if (ctx.req.headers['x-oss-copy-source'] !== undefined) throw ossErrors.notImplemented('UploadPartCopy');
  const expectedMd5 = contentMd5(ctx.req);
  const blob = await receiveBlob(ctx, body, !benchMode || expectedMd5 !== undefined);
  checkDigest(ctx, blob, expectedMd5);
  store.retain([blob]);
  if (!store.isLive(target)) {
    // Completed or aborted while this part was in flight.
    store.release([blob]);
    throw ossErrors.noSuchUpload(target.uploadId);
  }
  const part: StoredPart = {
    partNumber,
    file: blob.file,
    size: blob.size,
    etag: blobEtag(blob),
    crc64: blob.crc64,
    lastModified: new Date(),
  };
  store.setPart(target, part);
  const headers: Record<string, string> = { ETag: part.etag, 'x-oss-hash-crc64ecma': part.crc64.toString() };
  if (blob.md5) headers['Content-MD5'] = blob.md5.toString('base64');
  sendEmpty(ctx, 200, headers);
}

const completeParser = new XMLParser({
  parseTagValue: false,
  ignoreAttributes: true,
  isArray: (name) => name === 'Part',
  processEntities: true,
});

interface RequestedPart {
  number: number;
  etag: string;
}

/** The `<Part>` list of a CompleteMultipartUpload body; anything off-schema → MalformedXML. */
export function parseCompleteBody(xml: string): RequestedPart[] {
  let doc: unknown;
  try {
    doc = completeParser.parse(xml, true);
  } catch {
    throw ossErrors.malformedXml();
  }
  const root = (doc as Record<string, unknown>)?.CompleteMultipartUpload as
    | Record<string, unknown>
    | undefined;
  const parts = root?.Part;
  if (!Array.isArray(parts) || parts.length === 0) throw ossErrors.malformedXml();
  return parts.map((p: Record<string, unknown>) => {
    const number = typeof p?.PartNumber === 'string' ? p.PartNumber.trim() : undefined;
    const etag = typeof p?.ETag === 'string' ? p.ETag : undefined;
    if (number === undefined || !/^\d+$/.test(number) || etag === undefined) throw ossErrors.malformedXml();
    return { number: Number(number), etag };
  });
}

/**
 * CompleteMultipartUpload: checks order, existence/ETags and the 100 KiB minimum, then makes the object
 * a manifest of the part files (no copy); its CRC-64 is combined from the parts' CRCs.
 */
export async function completeMultipartUpload(ctx: OssContext): Promise<void> {
  const { store } = ctx.deps;
  const target = upload(ctx);
  const expectedMd5 = contentMd5(ctx.req);
  let body: Buffer;
  try {
    body = await readSmallBody(ctx.req, 4 * 1024 * 1024);
  } catch (err) {
    if (err instanceof BodyTooLargeError) throw ossErrors.malformedXml();
    throw err;
  }
  ctx.log.bytes = body.length;
  if (expectedMd5 && !expectedMd5.equals(createHash('md5').update(body).digest())) {
    throw ossErrors.badDigest(
      expectedMd5.toString('base64'),
      createHash('md5').update(body).digest('base64'),
    );
  }
  let selected: StoredPart[];
  if (ctx.req.headers['x-oss-complete-all'] === 'yes') {
    selected = [...target.parts.values()].sort((a, b) => a.partNumber - b.partNumber);
    if (selected.length === 0) throw ossErrors.invalidPart(0, '');
  } else {
    const requested = parseCompleteBody(body.toString('utf8'));
    selected = [];
    let previous = 0;
    for (const r of requested) {
      if (r.number <= previous) throw ossErrors.invalidPartOrder();
      previous = r.number;
      const part = target.parts.get(r.number);
      if (!part || normalizeEtag(part.etag) !== normalizeEtag(r.etag))
        throw ossErrors.invalidPart(r.number, r.etag);
      selected.push(part);
    }
  }
  for (let i = 0; i < selected.length - 1; i++) {
    const p = selected[i]!;
    if (p.size < MIN_PART_SIZE) throw ossErrors.entityTooSmall(p.partNumber, p.size);
  }
  if (!store.isLive(target)) throw ossErrors.noSuchUpload(target.uploadId);

  let crc = 0n;
  let size = 0;
  const etagHash = createHash('md5');
  for (const p of selected) {
    crc = crc64Combine(crc, p.crc64, p.size);
    size += p.size;
    etagHash.update(Buffer.from(normalizeEtag(p.etag), 'hex'));
  }
  const etag = `"${etagHash.digest('hex').toUpperCase()}-${selected.length}"`;
  const segments = selected.map((p) => ({ file: p.file, size: p.size }));
  store.retain(segments);
  store.removeUpload(target);
  store.putObject({
    bucket: ctx.bucket,
    key: ctx.key!,
    size,
    etag,
    crc64: crc,
    contentType: target.contentType,
    meta: target.meta,
    lastModified: new Date(),
    objectType: 'Multipart',
    segments,
  });
  const encodedKey = encodeURIComponent(ctx.key!).replace(/%2F/g, '/');
  sendXml(
    ctx,
    200,
    'CompleteMultipartUploadResult',
    { Location: `http://${ctx.hostId}/${encodedKey}`, Bucket: ctx.bucket, Key: ctx.key!, ETag: etag },
    { ETag: etag, 'x-oss-hash-crc64ecma': crc.toString() },
  );
}

function intParam(ctx: OssContext, name: string, fallback: number, min: number, max: number): number {
  const raw = ctx.query.get(name);
  if (raw === undefined || raw === '') return fallback;
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= min)) throw ossErrors.invalidArgument(`Argument ${name} is invalid.`, name, raw);
  return Math.min(n, max);
}

/** ListParts, ascending, paged by max-parts (≤ 1000) and part-number-marker. */
export function listParts(ctx: OssContext): void {
  const target = upload(ctx);
  const maxParts = intParam(ctx, 'max-parts', 1000, 1, 1000);
  const marker = intParam(ctx, 'part-number-marker', 0, 0, Number.MAX_SAFE_INTEGER);
  const all = [...target.parts.values()]
    .filter((p) => p.partNumber > marker)
    .sort((a, b) => a.partNumber - b.partNumber);
  const page = all.slice(0, maxParts);
  sendXml(ctx, 200, 'ListPartsResult', {
    Bucket: ctx.bucket,
    Key: ctx.key!,
    UploadId: target.uploadId,
    StorageClass: 'Standard',
    PartNumberMarker: marker,
    NextPartNumberMarker: page.length > 0 ? page[page.length - 1]!.partNumber : marker,
    MaxParts: maxParts,
    IsTruncated: all.length > page.length,
    Part: page.map((p) => ({
      PartNumber: p.partNumber,
      LastModified: isoMillis(p.lastModified),
      ETag: p.etag,
      HashCrc64ecma: p.crc64.toString(),
      Size: p.size,
    })),
  });
}

export function abortMultipartUpload(ctx: OssContext): void {
  const target = upload(ctx);
  ctx.deps.store.removeUpload(target);
  sendEmpty(ctx, 204);
}
