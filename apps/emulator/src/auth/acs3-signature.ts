import { createHash, createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { strictEncode } from '../util/percent-encode.js';

/**
 * ACS3-HMAC-SHA256 (the default of @alicloud/openapi-core / openapi-client):
 * `Authorization: ACS3-HMAC-SHA256 Credential=<AK>,SignedHeaders=a;b;c,Signature=<hex>`.
 */
export interface Acs3Authorization {
  accessKeyId: string;
  signedHeaders: string[];
  signature: string;
}

export const ACS3_ALGORITHM = 'ACS3-HMAC-SHA256';

export function parseAcs3Authorization(header: string | undefined): Acs3Authorization | undefined {
  if (!header?.startsWith(`${ACS3_ALGORITHM} `)) return undefined;
  const fields = new Map<string, string>();
  for (const part of header.slice(ACS3_ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const accessKeyId = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!accessKeyId || !signedHeaders || !signature) return undefined;
  return { accessKeyId, signedHeaders: signedHeaders.split(';'), signature };
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * METHOD \n URI \n sorted `name=strictEncode(value)` query \n `name:values\n`… \n signed-header list \n
 * payload hash. Header values: every occurrence trimmed, sorted, joined by `,` (as the client does).
 */
export function acs3CanonicalRequest(
  req: IncomingMessage,
  pathname: string,
  query: ReadonlyMap<string, string>,
  signedHeaders: readonly string[],
  hashedPayload: string,
): string {
  const canonicalQuery = [...query.keys()]
    .sort()
    .map((name) => `${strictEncode(name)}=${strictEncode(query.get(name)!)}`)
    .join('&');
  let canonicalHeaders = '';
  for (const name of signedHeaders) {
    const values = (req.headersDistinct[name] ?? []).map((v) => v.trim()).sort();
    canonicalHeaders += `${name}:${values.join(',')}\n`;
  }
  const canonicalUri = pathname.replace(/\+/g, '%20').replace(/\*/g, '%2A').replace(/%7E/g, '~');
  return [
    (req.method ?? 'GET').toUpperCase(),
    canonicalUri,
    canonicalQuery,
    canonicalHeaders,
    signedHeaders.join(';'),
    hashedPayload,
  ].join('\n');
}

/** The string to sign, and the hex signature a secret gives it. */
export function acs3Sign(
  secret: string,
  canonicalRequest: string,
): { stringToSign: string; signature: string } {
  const stringToSign = `${ACS3_ALGORITHM}\n${sha256Hex(canonicalRequest)}`;
  return { stringToSign, signature: createHmac('sha256', secret).update(stringToSign).digest('hex') };
}
