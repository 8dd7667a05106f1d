import { type Crc64ImplName, IMPL_ENV, selectCrc64Implementation } from './implementations.js';

export { crc64Combine } from './crc64-combine.js';
export type { Crc64ImplName } from './implementations.js';

// Chosen once at import: the fastest kernel that loads, unless MEDIAFERRY_CRC64_IMPL forces one (README).
const selected = selectCrc64Implementation(process.env[IMPL_ENV]);
const kernel = selected.fn;

/** The kernel `crc64()` runs in this process: `native-clmul`, `native-table` or `js`. */
export const crc64Implementation: Crc64ImplName = selected.name;

/**
 * CRC-64/XZ as OSS reports it in `x-oss-hash-crc64ecma` (unsigned decimal).
 * `crc64(b, crc64(a))` equals `crc64(a ‖ b)`.
 * @param crc the finished CRC of the bytes before `data` @defaultValue `0n` (no bytes before)
 * @throws RangeError if `crc` is not an unsigned 64-bit value
 */
export function crc64(data: Uint8Array, crc = 0n): bigint {
  return kernel(data, crc);
}

/** Incremental hasher. */
export class Crc64 {
  #crc = 0n;
  #length = 0;
  update(data: Uint8Array): this {
    this.#crc = kernel(data, this.#crc);
    this.#length += data.length;
    return this;
  }
  get length(): number {
    return this.#length;
  }
  digest(): bigint {
    return this.#crc;
  }
  /** Unsigned decimal, as in `x-oss-hash-crc64ecma`. */
  toString(): string {
    return this.#crc.toString();
  }
}
