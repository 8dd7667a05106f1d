import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { crc64Combine } from './crc64-combine.js';
import { crc64Js } from './crc64-js.js';

const ascii = (s: string) => new TextEncoder().encode(s);

describe('crc64Combine', () => {
  it('joins two parts of the check string', () => {
    const a = ascii('1234');
    const b = ascii('56789');
    expect(crc64Combine(crc64Js(a), crc64Js(b), b.length)).toBe(11051210869376104954n);
  });

  it('matches the CRC of the concatenation at random split points', () => {
    const data = randomBytes(70_000);
    const whole = crc64Js(data);
    for (let i = 0; i < 200; i++) {
      const cut = Math.floor(Math.random() * (data.length + 1));
      const a = data.subarray(0, cut);
      const b = data.subarray(cut);
      expect(crc64Combine(crc64Js(a), crc64Js(b), b.length)).toBe(whole);
    }
  });

  it('folds many parts left to right, as a multipart upload does', () => {
    const data = randomBytes(300_000);
    const cuts = [0, 1, 17, 4096, 4096, 65_537, 200_000, 299_999, 300_000];
    let acc = 0n;
    for (let i = 1; i < cuts.length; i++) {
      const part = data.subarray(cuts[i - 1], cuts[i]);
      acc = crc64Combine(acc, crc64Js(part), part.length);
    }
    expect(acc).toBe(crc64Js(data));
  });

  it('handles zero-length parts on either side', () => {
    const data = randomBytes(1000);
    const c = crc64Js(data);
    expect(crc64Combine(c, 0n, 0)).toBe(c);
    expect(crc64Combine(0n, c, data.length)).toBe(c);
    expect(crc64Combine(0n, 0n, 0)).toBe(0n);
  });

  it('is associative for lengths far beyond 2^32', () => {
    const [a, b, c] = [crc64Js(randomBytes(64)), crc64Js(randomBytes(64)), crc64Js(randomBytes(64))];
    const lb = 2 ** 40 + 12_345;
    const lc = 2 ** 45 + 7;
    const left = crc64Combine(crc64Combine(a, b, lb), c, lc);
    const right = crc64Combine(a, crc64Combine(b, c, lc), lb + lc);
    expect(left).toBe(right);
  });

  it('agrees with xz on a 4 GiB + 5 byte run of zeros', () => {
    // Reference values from `xz -T1 --check=crc64` + `xz -lvv` (CheckVal) over the exact byte streams:
    // Z = 4294967301 zero bytes, and "123456789" ‖ Z. Independent of this package's code.
    const len = 4_294_967_301;
    const crcZeros = 0x5542ef9d35283ab2n;
    const crcJoined = 0xd82b4b6a2fbd86fdn;
    expect(crc64Combine(crc64Js(ascii('123456789')), crcZeros, len)).toBe(crcJoined);
  });

  it('rejects lengths and CRCs out of range', () => {
    expect(() => crc64Combine(0n, 0n, -1)).toThrow(RangeError);
    expect(() => crc64Combine(0n, 0n, 1.5)).toThrow(RangeError);
    expect(() => crc64Combine(0n, 0n, 2 ** 53)).toThrow(RangeError);
    expect(() => crc64Combine(1n << 64n, 0n, 1)).toThrow(RangeError);
    expect(() => crc64Combine(0n, -1n, 1)).toThrow(RangeError);
  });
});
