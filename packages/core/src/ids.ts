import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower case

function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/**
 * Time-sortable random id: 48-bit millisecond timestamp + 80 random bits, base32 (ULID layout,
 * lower case). Sorting ids sorts by creation time, which the job list's cursor relies on.
 */
export function sortableId(now: number = Date.now()): string {
  const bytes = new Uint8Array(16);
  let t = now;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = t % 256;
    t = Math.floor(t / 256);
  }
  bytes.set(randomBytes(10), 6);
  return base32(bytes).slice(0, 26);
}

export function newJobId(now?: number): string {
  return `job_${sortableId(now)}`;
}

export const JOB_ID_PATTERN = /^job_[0-9a-hjkmnp-tv-z]{26}$/;

export function isJobId(value: string): boolean {
  return JOB_ID_PATTERN.test(value);
}
