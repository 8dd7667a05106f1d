import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * OSS header signature V1 (what ali-oss sends by default):
 * `Authorization: OSS <AccessKeyId>:base64(HMAC-SHA1(secret, StringToSign))`.
 * The string to sign is rebuilt from exactly what arrived, so a client that signs a header it sends
 * (ali-oss signs the Content-Type it guesses even on GET) always matches.
 */

/** Query parameters that are part of the canonical resource; everything else is not signed. */
const SUB_RESOURCES = new Set([
  'acl',
  'append',
  'bucketInfo',
  'cname',
  'comp',
  'cors',
  'delete',
  'encryption',
  'endTime',
  'img',
  'inventory',
  'lifecycle',
  'live',
  'location',
  'logging',
  'objectMeta',
  'partNumber',
  'policy',
  'position',
  'qos',
  'referer',
  'replication',
  'replicationLocation',
  'replicationProgress',
  'requestPayment',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
  'response-content-language',
  'response-content-type',
  'response-expires',
  'restore',
  'security-token',
  'sequential',
  'startTime',
  'stat',
  'status',
  'style',
  'styleName',
  'symlink',
  'tagging',
  'torrent',
  'uploadId',
  'uploads',
  'versionId',
  'versioning',
  'versions',
  'vod',
  'website',
  'worm',
  'wormExtend',
  'wormId',
  'x-oss-ac-forward-allow',
  'x-oss-ac-source-ip',
  'x-oss-ac-subnet-mask',
  'x-oss-ac-vpc-id',
  'x-oss-process',
  'x-oss-request-payer',
  'x-oss-traffic-limit',
]);

export interface OssAuthorization {
  accessKeyId: string;
  signature: string;
}

/** `OSS <id>:<sig>` → parts; anything else → undefined. */
export function parseOssAuthorization(header: string | undefined): OssAuthorization | undefined {
  if (!header?.startsWith('OSS ')) return undefined;
  const rest = header.slice(4).trim();
  const colon = rest.lastIndexOf(':');
  if (colon <= 0 || colon === rest.length - 1) return undefined;
  return { accessKeyId: rest.slice(0, colon), signature: rest.slice(colon + 1) };
}

function headerValue(headers: IncomingHttpHeaders, name: string): string {
  const v = headers[name];
  if (v === undefined) return '';
  return Array.isArray(v) ? v.join(',') : v;
}

/** `/<bucket>/<key>?sub&sub=v` with sub-resources sorted, unencoded, empty values as bare names. */
export function canonicalizedResource(
  bucket: string | undefined,
  key: string | undefined,
  query: ReadonlyMap<string, string>,
): string {
  let resource = bucket === undefined ? '/' : key ? `/${bucket}/${key}` : `/${bucket}/`;
  const subs: string[] = [];
  for (const name of query.keys()) if (SUB_RESOURCES.has(name)) subs.push(name);
  if (subs.length > 0) {
    subs.sort();
    resource += `?${subs.map((n) => (query.get(n) ? `${n}=${query.get(n)}` : n)).join('&')}`;
  }
  return resource;
}

/**
 * VERB, Content-MD5, Content-Type, Date (the `Date` header, else `x-oss-date` — ali-oss sends only the
 * latter), the `x-oss-*` headers sorted as `name:value`, and the canonical resource, joined by `\n`.
 */
export function ossStringToSign(
  method: string,
  headers: IncomingHttpHeaders,
  bucket: string | undefined,
  key: string | undefined,
  query: ReadonlyMap<string, string>,
): string {
  const lines = [
    method.toUpperCase(),
    headerValue(headers, 'content-md5'),
    headerValue(headers, 'content-type'),
    headers.date ?? headerValue(headers, 'x-oss-date'),
  ];
  const ossHeaders: string[] = [];
  for (const name of Object.keys(headers)) {
    if (name.startsWith('x-oss-')) ossHeaders.push(name);
  }
  ossHeaders.sort();
  for (const name of ossHeaders) lines.push(`${name}:${headerValue(headers, name).trim()}`);
  lines.push(canonicalizedResource(bucket, key, query));
  return lines.join('\n');
}

export function ossSign(secret: string, stringToSign: string): string {
  return createHmac('sha1', secret).update(stringToSign, 'utf8').digest('base64');
}

/** Constant-time comparison of two signatures given as strings. */
export function signaturesEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}
