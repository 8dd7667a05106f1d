import { randomBytes, randomUUID } from 'node:crypto';

/**
 * Request ids are hot (one per request): a random prefix plus a counter, 24 upper-case hex like OSS's,
 * costs no entropy per call and stays unique within a process.
 */
const prefix = randomBytes(6).toString('hex').toUpperCase();
let counter = Math.floor(Math.random() * 0xffffff);

/** 24 upper-case hex characters, as OSS's `x-oss-request-id`. */
export function ossRequestId(): string {
  counter = (counter + 1) % 0x1000000000000;
  return prefix + counter.toString(16).toUpperCase().padStart(12, '0');
}

/** Upper-case UUID, as the VOD gateway's RequestId. */
export function vodRequestId(): string {
  return randomUUID().toUpperCase();
}

/** `n` random bytes as lower-case hex. */
export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/** 32 upper-case hex characters, like real OSS upload ids. */
export function newUploadId(): string {
  return randomBytes(16).toString('hex').toUpperCase();
}
