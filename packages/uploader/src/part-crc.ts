import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { crc64 } from '@mediaferry/crc64';

/** Slice hashed between two turns of the event loop. */
const SLICE = 1024 * 1024;

/**
 * CRC-64 of a part, computed in slices that give the event loop a turn in between, so it runs while
 * the same buffer is being written to the socket (the upload never waits for a serial hashing step).
 * `initial` continues a CRC over preceding bytes.
 */
export async function partCrc64(body: Uint8Array, initial = 0n): Promise<bigint> {
  let crc = initial;
  for (let offset = 0; offset < body.length; offset += SLICE) {
    if (offset > 0) await yieldToLoop();
    crc = crc64(body.subarray(offset, Math.min(body.length, offset + SLICE)), crc);
  }
  return crc;
}
