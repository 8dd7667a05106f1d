/**
 * CRC-64/XZ (ECMA-182 polynomial, reflected, init and xorout all ones) in portable JavaScript.
 * The 64-bit state is kept as two uint32 halves so the hot loop never allocates BigInts.
 */
const POLY_HI = 0xc96c5795;
const POLY_LO = 0xd7870f42;

const TABLE_LO = new Uint32Array(256);
const TABLE_HI = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let lo = i;
  let hi = 0;
  for (let k = 0; k < 8; k++) {
    const carry = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi = hi >>> 1;
    if (carry) {
      lo = (lo ^ POLY_LO) >>> 0;
      hi = (hi ^ POLY_HI) >>> 0;
    }
  }
  TABLE_LO[i] = lo;
  TABLE_HI[i] = hi;
}

const MASK64 = (1n << 64n) - 1n;

/** Continues `crc` (a finished CRC of the preceding bytes, 0n for none) over `data`. */
export function crc64Js(data: Uint8Array, crc = 0n): bigint {
  const inv = ~crc & MASK64;
  let lo = Number(inv & 0xffffffffn) >>> 0;
  let hi = Number(inv >> 32n) >>> 0;
  for (let i = 0; i < data.length; i++) {
    const idx = (lo ^ data[i]!) & 0xff;
    lo = ((lo >>> 8) | ((hi & 0xff) << 24)) ^ TABLE_LO[idx]!;
    hi = (hi >>> 8) ^ TABLE_HI[idx]!;
  }
  const out = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  return ~out & MASK64;
}
