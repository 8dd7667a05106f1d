import { createHmac } from 'node:crypto';
import { strictEncode } from '../util/percent-encode.js';

/**
 * RPC signature v1 (pop-core, openapi-core with `signatureAlgorithm: 'v2'`): a `Signature` parameter =
 * base64 HMAC-SHA1(secret + '&', `METHOD&%2F&` + encode(sorted `k=v` of every other parameter)).
 */
export function rpcV1StringToSign(method: string, params: ReadonlyMap<string, string>): string {
  const canonical = [...params.keys()]
    .filter((k) => k !== 'Signature')
    .sort()
    .map((k) => `${strictEncode(k)}=${strictEncode(params.get(k)!)}`)
    .join('&');
  return `${method.toUpperCase()}&${strictEncode('/')}&${strictEncode(canonical)}`;
}

export function rpcV1Sign(secret: string, stringToSign: string): string {
  return createHmac('sha1', `${secret}&`).update(stringToSign).digest('base64');
}
