/**
 * CRC-64/XZ combination: crc(A ‖ B) from crc(A), crc(B) and len(B), in O(log len(B)) without the data.
 *
 * Same method as zlib's `crc32_combine` (≥ 1.2.12): appending B to A multiplies A's register by
 * x^(8·len(B)) modulo the polynomial, and the init/xorout conditioning of both CRCs cancels out, so
 * crc(A ‖ B) = crc(A) · x^(8·len(B)) mod P  ⊕  crc(B). Polynomials are kept bit-reflected, like the CRC
 * register itself: bit 63 holds the coefficient of x^0.
 */
const POLY_HI = 0xc96c5795;
const POLY_LO = 0xd7870f42;
const MASK32 = 0xffffffffn;

// 64-bit values as uint32 halves in plain numbers: ~50x faster than the same loop on BigInts.
let outHi = 0;
let outLo = 0;

/** (outHi:outLo) = a · b mod P (all reflected). */
function multModP(aHi: number, aLo: number, bHi: number, bLo: number): void {
  let pHi = 0;
  let pLo = 0;
  for (let i = 0; i < 64; i++) {
    const bit = i < 32 ? (aHi >>> (31 - i)) & 1 : (aLo >>> (63 - i)) & 1; // coefficient of x^i
    if (bit) {
      pHi ^= bHi;
      pLo ^= bLo;
    }
    const carry = bLo & 1; // b ← b · x mod P
    bLo = (bLo >>> 1) | (bHi << 31);
    bHi >>>= 1;
    if (carry) {
      bHi ^= POLY_HI;
      bLo ^= POLY_LO;
    }
  }
  outHi = pHi >>> 0;
  outLo = pLo >>> 0;
}

/** X2N_*[k] = x^(2^k) mod P, for every k a safe-integer byte count can need (8·2^53 bits < 2^57). */
const X2N_HI = new Uint32Array(64);
const X2N_LO = new Uint32Array(64);
X2N_HI[0] = 0x40000000; // x^1
for (let k = 1; k < 64; k++) {
  multModP(X2N_HI[k - 1]!, X2N_LO[k - 1]!, X2N_HI[k - 1]!, X2N_LO[k - 1]!);
  X2N_HI[k] = outHi;
  X2N_LO[k] = outLo;
}

/** (outHi:outLo) = x^(8·n) mod P: one multiplication per set bit of n. */
function xPow8n(n: number): void {
  let pHi = 0x80000000; // x^0
  let pLo = 0;
  let k = 3; // 8·n = n·2^3
  while (n > 0) {
    if (n % 2 === 1) {
      multModP(X2N_HI[k]!, X2N_LO[k]!, pHi, pLo);
      pHi = outHi;
      pLo = outLo;
    }
    n = Math.floor(n / 2); // not `>>>`: n may exceed 2^32
    k++;
  }
  outHi = pHi;
  outLo = pLo;
}

/**
 * CRC-64/XZ of A ‖ B given `crc1` = crc64(A), `crc2` = crc64(B) and `len2` = B's length in bytes.
 * `crc64Combine(crc64(a), crc64(b), b.length) === crc64(concat(a, b))`. Costs O(log len2): a few µs.
 * @throws RangeError if `len2` is not a non-negative safe integer or a CRC is not an unsigned 64-bit value.
 */
export function crc64Combine(crc1: bigint, crc2: bigint, len2: number): bigint {
  if (!Number.isSafeInteger(len2) || len2 < 0) {
    throw new RangeError(`crc64Combine: len2 must be a non-negative safe integer, got ${len2}`);
  }
  if (crc1 < 0n || crc1 >> 64n !== 0n || crc2 < 0n || crc2 >> 64n !== 0n) {
    throw new RangeError('crc64Combine: CRCs must be unsigned 64-bit values');
  }
  if (len2 === 0) return crc1;
  xPow8n(len2);
  multModP(outHi, outLo, Number(crc1 >> 32n), Number(crc1 & MASK32));
  return ((BigInt(outHi) << 32n) | BigInt(outLo)) ^ crc2;
}
