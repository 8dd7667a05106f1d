/**
 * CRC-64/XZ (ECMA-182 polynomial, reflected, init and xorout all ones) in portable JavaScript: the
 * always-available fallback. Slice-by-16 (16 bytes per step, 32 table look-ups) with the 64-bit state kept
 * as two uint32 halves, so the hot loop stays in V8's int32 fast path and never allocates a BigInt.
 */
import { endianness } from 'node:os';

const POLY_HI = 0xc96c5795;
const POLY_LO = 0xd7870f42;
const MASK64 = (1n << 64n) - 1n;

/**
 * TLO/THI[(k << 8) | b]: the low/high half of the register contribution of byte b followed by k zero bytes.
 * Table 0 is the classic byte-wise table; table k+1 is table k advanced by one more zero byte.
 */
const TLO = new Uint32Array(16 * 256);
const THI = new Uint32Array(16 * 256);
for (let b = 0; b < 256; b++) {
  let lo = b;
  let hi = 0;
  for (let bit = 0; bit < 8; bit++) {
    const carry = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi >>>= 1;
    if (carry) {
      lo = (lo ^ POLY_LO) >>> 0;
      hi = (hi ^ POLY_HI) >>> 0;
    }
  }
  TLO[b] = lo;
  THI[b] = hi;
}
for (let k = 1; k < 16; k++) {
  for (let b = 0; b < 256; b++) {
    const plo = TLO[((k - 1) << 8) | b]!;
    const phi = THI[((k - 1) << 8) | b]!;
    const idx = plo & 0xff;
    TLO[(k << 8) | b] = ((plo >>> 8) | ((phi & 0xff) << 24)) ^ TLO[idx]!;
    THI[(k << 8) | b] = (phi >>> 8) ^ THI[idx]!;
  }
}

const LITTLE_ENDIAN = endianness() === 'LE';

/** Reads the register from a finished CRC: undo xorout. */
function splitInverted(crc: bigint): [number, number] {
  if (crc < 0n || crc > MASK64) throw new RangeError('crc64: crc must be an unsigned 64-bit value');
  const inv = ~crc & MASK64;
  return [Number(inv & 0xffffffffn), Number(inv >> 32n)];
}

function joinInverted(lo: number, hi: number): bigint {
  return ~((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)) & MASK64;
}

/** Continues `crc` (a finished CRC of the preceding bytes, 0n for none) over `data`. */
export function crc64Js(data: Uint8Array, crc = 0n): bigint {
  let [lo, hi] = splitInverted(crc);
  const len = data.length;
  let i = 0;
  // Byte-wise up to a 4-byte boundary, so the bulk can be read as aligned uint32 words.
  const head = Math.min(len, (4 - ((data.byteOffset + i) & 3)) & 3);
  for (; i < head; i++) {
    const idx = (lo ^ data[i]!) & 0xff;
    lo = ((lo >>> 8) | ((hi & 0xff) << 24)) ^ TLO[idx]!;
    hi = (hi >>> 8) ^ THI[idx]!;
  }
  const words = (len - i) >>> 4;
  if (words > 0 && LITTLE_ENDIAN) {
    const w = new Uint32Array(data.buffer, data.byteOffset + i, words * 4);
    for (let j = 0; j < w.length; j += 4) {
      const a = lo ^ w[j]!;
      const b = hi ^ w[j + 1]!;
      const c = w[j + 2]!;
      const d = w[j + 3]!;
      const t15 = 15 << 8;
      const t14 = 14 << 8;
      const t13 = 13 << 8;
      const t12 = 12 << 8;
      const t11 = 11 << 8;
      const t10 = 10 << 8;
      const t9 = 9 << 8;
      const t8 = 8 << 8;
      const t7 = 7 << 8;
      const t6 = 6 << 8;
      const t5 = 5 << 8;
      const t4 = 4 << 8;
      const t3 = 3 << 8;
      const t2 = 2 << 8;
      const t1 = 1 << 8;
      const i0 = t15 | (a & 0xff);
      const i1 = t14 | ((a >>> 8) & 0xff);
      const i2 = t13 | ((a >>> 16) & 0xff);
      const i3 = t12 | (a >>> 24);
      const i4 = t11 | (b & 0xff);
      const i5 = t10 | ((b >>> 8) & 0xff);
      const i6 = t9 | ((b >>> 16) & 0xff);
      const i7 = t8 | (b >>> 24);
      const i8 = t7 | (c & 0xff);
      const i9 = t6 | ((c >>> 8) & 0xff);
      const i10 = t5 | ((c >>> 16) & 0xff);
      const i11 = t4 | (c >>> 24);
      const i12 = t3 | (d & 0xff);
      const i13 = t2 | ((d >>> 8) & 0xff);
      const i14 = t1 | ((d >>> 16) & 0xff);
      const i15 = d >>> 24;
      lo =
        TLO[i0]! ^
        TLO[i1]! ^
        TLO[i2]! ^
        TLO[i3]! ^
        TLO[i4]! ^
        TLO[i5]! ^
        TLO[i6]! ^
        TLO[i7]! ^
        TLO[i8]! ^
        TLO[i9]! ^
        TLO[i10]! ^
        TLO[i11]! ^
        TLO[i12]! ^
        TLO[i13]! ^
        TLO[i14]! ^
        TLO[i15]!;
      hi =
        THI[i0]! ^
        THI[i1]! ^
        THI[i2]! ^
        THI[i3]! ^
        THI[i4]! ^
        THI[i5]! ^
        THI[i6]! ^
        THI[i7]! ^
        THI[i8]! ^
        THI[i9]! ^
        THI[i10]! ^
        THI[i11]! ^
        THI[i12]! ^
        THI[i13]! ^
        THI[i14]! ^
        THI[i15]!;
    }
    i += words * 16;
  }
  for (; i < len; i++) {
    const idx = (lo ^ data[i]!) & 0xff;
    lo = ((lo >>> 8) | ((hi & 0xff) << 24)) ^ TLO[idx]!;
    hi = (hi >>> 8) ^ THI[idx]!;
  }
  return joinInverted(lo, hi);
}

/** The original byte-wise loop (one table look-up per byte), kept as an independent reference for tests. */
export function crc64JsBytewise(data: Uint8Array, crc = 0n): bigint {
  let [lo, hi] = splitInverted(crc);
  for (let i = 0; i < data.length; i++) {
    const idx = (lo ^ data[i]!) & 0xff;
    lo = ((lo >>> 8) | ((hi & 0xff) << 24)) ^ TLO[idx]!;
    hi = (hi >>> 8) ^ THI[idx]!;
  }
  return joinInverted(lo, hi);
}
