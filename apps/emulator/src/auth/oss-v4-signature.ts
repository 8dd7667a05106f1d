import { createHash, createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { v4Errors } from './oss-v4-errors.js';

/**
 * OSS Signature V4 (`OSS4-HMAC-SHA256`), written from OSS's "Include a V4 signature in the header" and
 * "Include a V4 signature in the URL" references:
 *
 *   CanonicalRequest = VERB \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n AdditionalHeaders \n
 *                      HashedPayload
 *   StringToSign     = "OSS4-HMAC-SHA256" \n TimeStamp \n Scope \n hex(SHA256(CanonicalRequest))
 *   SigningKey       = HMAC(HMAC(HMAC(HMAC("aliyun_v4" + secret, date), region), "oss"), "aliyun_v4_request")
 *   Signature        = hex(HMAC-SHA256(SigningKey, StringToSign))
 *
 * CanonicalURI is `/<bucket>/<key>` (`/<bucket>/` for bucket operations) URI-encoded except `/`;
 * CanonicalQuery holds every query parameter (the signature itself excepted for URLs), URI-encoded,
 * sorted, a parameter without value as its bare name; CanonicalHeaders lists `content-type`,
 * `content-md5`, every `x-oss-*` header and the AdditionalHeaders, lower-cased and sorted, as
 * `name:trimmed-value\n`; HashedPayload is `UNSIGNED-PAYLOAD`.
 */

export const V4_ALGORITHM = 'OSS4-HMAC-SHA256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
/** Longest validity of a V4 signed URL (7 days). */
export const MAX_URL_EXPIRES_SECONDS = 604_800;

export interface V4Scope {
  accessKeyId: string;
  /** `yyyyMMdd` */
  date: string;
  region: string;
  product: string;
}

/** What a V4 request claims: its scope, the extra signed headers and the signature. */
export interface V4Claim {
  scope: V4Scope;
  credential: string;
  additionalHeaders: string[];
  signature: string;
  /** The request time, `yyyyMMddTHHmmssZ`. */
  timestamp: string;
  /** From a URL: seconds the URL stays valid after `timestamp`. */
  expiresSeconds?: number;
  /** From a URL: `x-oss-security-token`. */
  securityToken?: string;
}

/** RFC 3986 percent-encoding: everything but `A-Z a-z 0-9 - _ . ~`. */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `AK/yyyyMMdd/region/oss/aliyun_v4_request` → scope, or the cloud's error for the part that is wrong. */
export function parseCredential(credential: string, inQuery: boolean, expectedRegion: string): V4Scope {
  const parts = credential.split('/');
  if (parts.length !== 5 || !parts[0] || parts[4] !== 'aliyun_v4_request') {
    throw v4Errors.credential(inQuery, credential);
  }
  const [accessKeyId, date, region, product] = parts as [string, string, string, string, string];
  if (!/^\d{8}$/.test(date)) throw v4Errors.signDate(inQuery, credential);
  if (product !== 'oss') throw v4Errors.product(credential);
  if (region !== expectedRegion) throw v4Errors.region(inQuery, credential);
  return { accessKeyId, date, region, product };
}

/** `yyyyMMddTHHmmssZ` → epoch ms, NaN when malformed. */
export function parseV4Timestamp(value: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return Number.NaN;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  const ms = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
  const back = new Date(ms);
  return back.getUTCDate() === d && back.getUTCMonth() === mo! - 1 ? ms : Number.NaN;
}

/** `host;range` → names; the cloud refuses an empty list and empty names. */
function parseAdditionalHeaders(value: string | undefined): string[] {
  if (value === undefined) return [];
  if (value === '') throw v4Errors.emptyAdditionalHeaders();
  const names = value.split(';').map((n) => n.trim().toLowerCase());
  if (names.some((n) => n === '')) throw v4Errors.emptyAdditionalHeader();
  return names;
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(',') : v;
}

/**
 * `Authorization: OSS4-HMAC-SHA256 Credential=…, AdditionalHeaders=…, Signature=…` plus the
 * `x-oss-date` and `x-oss-content-sha256` headers it needs.
 */
export function parseV4Header(headers: IncomingHttpHeaders, region: string): V4Claim {
  const header = headerValue(headers, 'authorization') ?? '';
  const fields = new Map<string, string>();
  for (const item of header.slice(V4_ALGORITHM.length).split(',')) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw v4Errors.malformedAuthorization(header);
    fields.set(item.slice(0, eq).trim(), item.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signature = fields.get('Signature');
  if (!credential || !signature) throw v4Errors.malformedAuthorization(header);
  const scope = parseCredential(credential, false, region);
  const additionalHeaders = parseAdditionalHeaders(fields.get('AdditionalHeaders'));
  const sha = headerValue(headers, 'x-oss-content-sha256');
  if (sha !== UNSIGNED_PAYLOAD) throw v4Errors.contentSha256(sha);
  const timestamp = headerValue(headers, 'x-oss-date');
  if (timestamp === undefined) throw v4Errors.missingDate();
  if (Number.isNaN(parseV4Timestamp(timestamp))) throw v4Errors.badDate(timestamp);
  if (timestamp.slice(0, 8) !== scope.date) throw v4Errors.signDate(false, credential);
  return { scope, credential, additionalHeaders, signature, timestamp };
}

/** True when the URL carries a V4 signature (`x-oss-signature-version`). */
export function isV4Url(query: ReadonlyMap<string, string>): boolean {
  return query.has('x-oss-signature-version') || query.has('x-oss-credential');
}

/** The `x-oss-*` parameters of a V4 signed URL. */
export function parseV4Query(query: ReadonlyMap<string, string>, region: string): V4Claim {
  const need = (name: string): string => {
    const v = query.get(name);
    if (v === undefined || v === '') throw v4Errors.missingQueryField(name);
    return v;
  };
  const version = need('x-oss-signature-version');
  if (version !== V4_ALGORITHM) throw v4Errors.malformedAuthorization(version);
  const credential = need('x-oss-credential');
  const scope = parseCredential(credential, true, region);
  const timestamp = need('x-oss-date');
  if (Number.isNaN(parseV4Timestamp(timestamp))) throw v4Errors.badDate(timestamp);
  if (timestamp.slice(0, 8) !== scope.date) throw v4Errors.signDate(true, credential);
  const expiresRaw = need('x-oss-expires');
  const expiresSeconds = Number(expiresRaw);
  if (!/^\d+$/.test(expiresRaw) || expiresSeconds < 1 || expiresSeconds > MAX_URL_EXPIRES_SECONDS) {
    throw v4Errors.badExpires(expiresRaw);
  }
  const signature = need('x-oss-signature');
  const additionalHeaders = parseAdditionalHeaders(query.get('x-oss-additional-headers'));
  const securityToken = query.get('x-oss-security-token');
  return {
    scope,
    credential,
    additionalHeaders,
    signature,
    timestamp,
    expiresSeconds,
    ...(securityToken ? { securityToken } : {}),
  };
}

export interface V4Request {
  method: string;
  headers: IncomingHttpHeaders;
  bucket: string | undefined;
  key: string | undefined;
  query: ReadonlyMap<string, string>;
}

/** The canonical request, rebuilt from what arrived. */
export function v4CanonicalRequest(
  r: V4Request,
  additionalHeaders: readonly string[],
  inQuery: boolean,
): string {
  const path = r.bucket === undefined ? '/' : `/${r.bucket}/${r.key ?? ''}`;
  const uri = uriEncode(path).replace(/%2F/g, '/');

  const params: [string, string][] = [];
  for (const [name, value] of r.query) {
    if (inQuery && name === 'x-oss-signature') continue;
    params.push([uriEncode(name), value === '' ? '' : uriEncode(value)]);
  }
  params.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const canonicalQuery = params.map(([n, v]) => (v === '' ? n : `${n}=${v}`)).join('&');

  const signed = new Set<string>();
  for (const name of Object.keys(r.headers)) {
    if (name === 'content-type' || name === 'content-md5' || name.startsWith('x-oss-')) signed.add(name);
  }
  for (const name of additionalHeaders) {
    if (headerValue(r.headers, name) === undefined) throw v4Errors.missingAdditionalHeader(name);
    signed.add(name);
  }
  const canonicalHeaders = [...signed]
    .sort()
    .map((name) => `${name}:${(headerValue(r.headers, name) ?? '').trim()}\n`)
    .join('');

  return [
    r.method.toUpperCase(),
    uri,
    canonicalQuery,
    canonicalHeaders,
    additionalHeaders.join(';'),
    UNSIGNED_PAYLOAD,
  ].join('\n');
}

export function v4StringToSign(timestamp: string, scope: V4Scope, canonicalRequest: string): string {
  return [
    V4_ALGORITHM,
    timestamp,
    `${scope.date}/${scope.region}/${scope.product}/aliyun_v4_request`,
    createHash('sha256').update(canonicalRequest, 'utf8').digest('hex'),
  ].join('\n');
}

/** The signing key of a scope: HMAC chain from `aliyun_v4` + secret over date, region, product, terminator. */
export function deriveV4SigningKey(secret: string, scope: V4Scope): KeyObject {
  const hmac = (key: string | Buffer, data: string) =>
    createHmac('sha256', key).update(data, 'utf8').digest();
  const dateKey = hmac(`aliyun_v4${secret}`, scope.date);
  const regionKey = hmac(dateKey, scope.region);
  const productKey = hmac(regionKey, scope.product);
  return createSecretKey(hmac(productKey, 'aliyun_v4_request'));
}

export function v4Signature(signingKey: KeyObject, stringToSign: string): string {
  return createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex');
}

/**
 * Signing keys by secret and scope. A key changes once a day per credential, and deriving one costs four
 * HMACs whose Buffer keys Node turns into key objects each time (~0.1 ms apiece here), so they are kept:
 * a request then costs one HMAC with a ready key object. Bounded; the oldest entry goes first.
 */
export class V4SigningKeys {
  readonly #keys = new Map<string, KeyObject>();

  constructor(private readonly max = 4096) {}

  get(secret: string, scope: V4Scope): KeyObject {
    const id = `${scope.date}/${scope.region}/${scope.product}/${secret}`;
    let key = this.#keys.get(id);
    if (!key) {
      key = deriveV4SigningKey(secret, scope);
      if (this.#keys.size >= this.max) this.#keys.delete(this.#keys.keys().next().value!);
      this.#keys.set(id, key);
    }
    return key;
  }
}
