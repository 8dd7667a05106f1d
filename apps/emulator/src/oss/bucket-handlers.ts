import { isoMillis } from '../util/time.js';
import type { XmlNode } from '../util/xml.js';
import { type OssContext, sendXml } from './oss-context.js';
import { ossErrors } from './oss-error.js';

function intParam(ctx: OssContext, name: string, fallback: number, max: number): number {
  const raw = ctx.query.get(name);
  if (raw === undefined || raw === '') return fallback;
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= 1 && n <= max)) throw ossErrors.invalidArgument(`Argument ${name} is invalid.`, name, raw);
  return n;
}

/** The common prefix `key` falls under (prefix + up to the first delimiter after it), if any. */
function commonPrefix(key: string, prefix: string, delimiter: string): string | undefined {
  if (!delimiter) return undefined;
  const i = key.indexOf(delimiter, prefix.length);
  return i < 0 ? undefined : key.slice(0, i + delimiter.length);
}

/** ListMultipartUploads (`GET /?uploads`): prefix, delimiter, key-marker, upload-id-marker, max-uploads. */
export function listMultipartUploads(ctx: OssContext): void {
  const prefix = ctx.query.get('prefix') ?? '';
  const delimiter = ctx.query.get('delimiter') ?? '';
  const keyMarker = ctx.query.get('key-marker') ?? '';
  const uploadIdMarker = ctx.query.get('upload-id-marker') ?? '';
  const maxUploads = intParam(ctx, 'max-uploads', 1000, 1000);
  // Sorted by key, then upload id, so the markers page deterministically.
  const uploads = ctx.deps.store
    .listUploads(ctx.bucket)
    .filter((u) => u.key.startsWith(prefix))
    .filter((u) =>
      keyMarker === ''
        ? true
        : u.key > keyMarker || (u.key === keyMarker && uploadIdMarker !== '' && u.uploadId > uploadIdMarker),
    )
    .sort((a, b) => (a.key !== b.key ? (a.key < b.key ? -1 : 1) : a.uploadId < b.uploadId ? -1 : 1));
  const items: XmlNode[] = [];
  const prefixes: XmlNode[] = [];
  const seenPrefixes = new Set<string>();
  let truncated = false;
  let nextKey = '';
  let nextUploadId = '';
  for (const u of uploads) {
    if (items.length + prefixes.length >= maxUploads) {
      truncated = true;
      break;
    }
    const cp = commonPrefix(u.key, prefix, delimiter);
    if (cp !== undefined) {
      if (!seenPrefixes.has(cp)) {
        seenPrefixes.add(cp);
        prefixes.push({ Prefix: cp });
      }
    } else {
      items.push({
        Key: u.key,
        UploadId: u.uploadId,
        StorageClass: 'Standard',
        Initiated: isoMillis(u.initiated),
      });
    }
    nextKey = u.key;
    nextUploadId = u.uploadId;
  }
  sendXml(ctx, 200, 'ListMultipartUploadsResult', {
    Bucket: ctx.bucket,
    KeyMarker: keyMarker,
    UploadIdMarker: uploadIdMarker,
    NextKeyMarker: truncated ? nextKey : '',
    NextUploadIdMarker: truncated ? nextUploadId : '',
    Delimiter: delimiter,
    Prefix: prefix,
    MaxUploads: maxUploads,
    IsTruncated: truncated,
    Upload: items,
    CommonPrefixes: prefixes,
  });
}

/** ListObjects (v1, `GET /`): prefix, marker, max-keys (default 100), delimiter. */
export function listObjects(ctx: OssContext): void {
  const prefix = ctx.query.get('prefix') ?? '';
  const delimiter = ctx.query.get('delimiter') ?? '';
  const marker = ctx.query.get('marker') ?? '';
  const maxKeys = intParam(ctx, 'max-keys', 100, 1000);
  const contents: XmlNode[] = [];
  const prefixes: XmlNode[] = [];
  const seen = new Set<string>();
  let truncated = false;
  let last = '';
  for (const o of ctx.deps.store.listObjects(ctx.bucket)) {
    if (!o.key.startsWith(prefix) || o.key <= marker) continue;
    const cp = commonPrefix(o.key, prefix, delimiter);
    // A marker that is itself a common prefix (a previous page's NextMarker) covers its keys.
    if (cp !== undefined && (seen.has(cp) || cp === marker)) continue;
    if (contents.length + prefixes.length >= maxKeys) {
      truncated = true;
      break;
    }
    if (cp !== undefined) {
      seen.add(cp);
      prefixes.push({ Prefix: cp });
      last = cp;
    } else {
      contents.push({
        Key: o.key,
        LastModified: isoMillis(o.lastModified),
        ETag: o.etag,
        Type: o.objectType,
        Size: o.size,
        StorageClass: 'Standard',
        Owner: { ID: 'emulator', DisplayName: 'emulator' },
      });
      last = o.key;
    }
  }
  sendXml(ctx, 200, 'ListBucketResult', {
    Name: ctx.bucket,
    Prefix: prefix,
    Marker: marker,
    MaxKeys: maxKeys,
    Delimiter: delimiter,
    IsTruncated: truncated,
    NextMarker: truncated ? last : undefined,
    Contents: contents,
    CommonPrefixes: prefixes,
  });
}
