import { crc64Js } from './crc64-js.js';

export { crc64Combine } from './crc64-combine.js';

/**
 * CRC-64/XZ as OSS reports it in `x-oss-hash-crc64ecma` (unsigned decimal).
 * `crc64(b, crc64(a))` equals `crc64(a ‖ b)`.
 */
export function crc64(data: Uint8Array, crc = 0n): bigint {
  return crc64Js(data, crc);
}

/** Incremental hasher. */
export class Crc64 {
  #crc = 0n;
  #length = 0;
  update(data: Uint8Array): this {
    this.#crc = crc64(data, this.#crc);
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
