import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { crc64JsBytewise } from './crc64-js.js';
import { Crc64, crc64, crc64Combine, crc64Implementation } from './index.js';

const ascii = (s: string) => new TextEncoder().encode(s);

describe('crc64', () => {
  it('matches the CRC-64/XZ check values', () => {
    expect(crc64(ascii('123456789')).toString()).toBe('11051210869376104954');
    expect(crc64(new Uint8Array(0))).toBe(0n);
    // From `printf 'a' | xz --check=crc64` + `xz -lvv` (CheckVal), independent of this package.
    expect(crc64(ascii('a'))).toBe(0x330284772e652b05n);
  });

  it('continues across chunks', () => {
    const data = ascii('hello, mediaferry streaming world');
    const whole = crc64(data);
    const h = new Crc64().update(data.subarray(0, 7)).update(data.subarray(7));
    expect(h.digest()).toBe(whole);
    expect(h.length).toBe(data.length);
    expect(h.toString()).toBe(whole.toString());
    expect(crc64(data.subarray(5), crc64(data.subarray(0, 5)))).toBe(whole);
  });

  it('hashes a multi-MiB buffer in uneven chunks like the byte-wise reference', () => {
    const data = randomBytes(3 * 1024 * 1024 + 13);
    const h = new Crc64();
    for (let off = 0; off < data.length; ) {
      const n = Math.min(data.length - off, 1 + Math.floor(Math.random() * 300_000));
      h.update(data.subarray(off, off + n));
      off += n;
    }
    expect(h.digest()).toBe(crc64JsBytewise(data));
    expect(crc64(data)).toBe(h.digest());
  });

  it('agrees with crc64Combine', () => {
    const a = randomBytes(100_001);
    const b = randomBytes(65_536);
    expect(crc64Combine(crc64(a), crc64(b), b.length)).toBe(crc64(Buffer.concat([a, b])));
  });

  it('rejects a previous CRC outside 0..2^64-1', () => {
    expect(() => crc64(ascii('x'), -1n)).toThrow(RangeError);
    expect(() => crc64(ascii('x'), 1n << 64n)).toThrow(RangeError);
  });

  it('reports which implementation it runs', () => {
    expect(['native-clmul', 'native-table', 'js']).toContain(crc64Implementation);
  });
});
