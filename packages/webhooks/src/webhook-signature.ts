import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * `X-Mediaferry-Signature` value for a body: `sha256=<hex HMAC-SHA256 of the raw body bytes>` (CONTRACT §3).
 * The signature covers the body only, not `X-Mediaferry-Timestamp` nor `X-Mediaferry-Delivery`.
 */
export function signWebhook(body: string | Uint8Array, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * For receivers: whether `header` (the `X-Mediaferry-Signature` value) is the signature of `body`
 * under `secret`. Pass the RAW request body (the exact bytes received, before any JSON parsing):
 * re-serialised JSON does not verify. Constant-time comparison; malformed headers are simply false.
 */
export function verifyWebhookSignature(
  body: string | Uint8Array,
  header: string | null | undefined,
  secret: string,
): boolean {
  if (typeof header !== 'string') return false;
  const match = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  if (!match) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  const given = Buffer.from(match[1]!, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * For receivers: whether `X-Mediaferry-Timestamp` (unix seconds) is within `toleranceSeconds` of now.
 * The timestamp is NOT covered by the signature (CONTRACT §3 signs the body only), so this is a
 * freshness hint against stale retries, not replay protection; dedupe on the signed content instead
 * (`job.id` + `event` + `job.finishedAt`). @defaultValue toleranceSeconds 300
 */
export function isFreshTimestamp(
  header: string | null | undefined,
  toleranceSeconds = 300,
  now = Date.now(),
): boolean {
  if (typeof header !== 'string' || !/^\d{1,12}$/.test(header.trim())) return false;
  return Math.abs(now / 1000 - Number(header.trim())) <= toleranceSeconds;
}
