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

/**
 * Partitions job ids fall into (see `jobIdPartition`); job records of one partition share a Redis
 * Cluster hash slot, different partitions spread over the cluster. Part of the key layout: never change.
 */
export const JOB_ID_PARTITIONS = 32;

/** Index in the id of the partition character: the first base32 digit made of random bits only. */
const PARTITION_CHAR = 'job_'.length + 10;

/**
 * A new job id. `partition` (0 … JOB_ID_PARTITIONS-1) fixes the id's partition character; without it
 * the character stays random, like every other random digit.
 */
export function newJobId(now?: number, partition?: number): string {
  const id = `job_${sortableId(now)}`;
  if (partition === undefined) return id;
  const digit = ALPHABET[partition];
  if (digit === undefined || !Number.isInteger(partition))
    throw new RangeError(`bad job partition ${partition}`);
  return id.slice(0, PARTITION_CHAR) + digit + id.slice(PARTITION_CHAR + 1);
}

/**
 * The partition of a job id: its first all-random digit, so ids made before partitions existed
 * have one too. Any string gets a stable answer (0 when the digit is missing or not base32).
 */
export function jobIdPartition(id: string): number {
  return Math.max(0, ALPHABET.indexOf(id.charAt(PARTITION_CHAR)));
}

export const JOB_ID_PATTERN = /^job_[0-9a-hjkmnp-tv-z]{26}$/;

export function isJobId(value: string): boolean {
  return JOB_ID_PATTERN.test(value);
}
