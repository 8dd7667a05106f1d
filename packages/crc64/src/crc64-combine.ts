/**
 * CRC-64/XZ combination: crc(A ‖ B) from crc(A), crc(B) and len(B), in O(log len(B)) without the data.
 *
 * Same method as zlib's `crc32_combine` (≥ 1.2.12): appending B to A multiplies A's register by
 * x^(8·len(B)) modulo the polynomial, and the init/xorout conditioning of both CRCs cancels out, so
 * crc(A ‖ B) = crc(A) · x^(8·len(B)) mod P  ⊕  crc(B). Polynomials are kept bit-reflected, like the CRC
 * register itself: bit 63 holds the coefficient of x^0.
 */
const POLY = 0xc96c5795d7870f42n;
const X0 = 1n << 63n; // the polynomial "1" in reflected form

/** a · b mod P (both reflected). */
function multModP(a: bigint, b: bigint): bigint {
  let m = X0;
  let p = 0n;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1n)) === 0n) break;
    }
    m >>= 1n;
    b = b & 1n ? (b >> 1n) ^ POLY : b >> 1n;
  }
  return p;
}

/** X2N[k] = x^(2^k) mod P, for every k a safe-integer byte count can need (8·2^53 bits < 2^57). */
const X2N: bigint[] = [X0 >> 1n];
for (let k = 1; k < 64; k++) X2N.push(multModP(X2N[k - 1]!, X2N[k - 1]!));

/** x^(8·n) mod P: one multiplication per set bit of n. */
function xPow8n(n: number): bigint {
  let p = X0;
  let k = 3; // 8·n = n·2^3
  while (n > 0) {
    if (n % 2 === 1) p = multModP(X2N[k]!, p);
    n = Math.floor(n / 2); // not `>>>`: n may exceed 2^32
    k++;
  }
  return p;
}

/**
 * CRC-64/XZ of A ‖ B given `crc1` = crc64(A), `crc2` = crc64(B) and `len2` = B's length in bytes.
 * `crc64Combine(crc64(a), crc64(b), b.length) === crc64(concat(a, b))`. Costs O(log len2), a few µs.
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
  return multModP(xPow8n(len2), crc1) ^ crc2;
}
