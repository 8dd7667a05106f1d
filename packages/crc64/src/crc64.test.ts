import { describe, expect, it } from 'vitest';
import { Crc64, crc64 } from './index.js';

describe('crc64', () => {
  it('matches the CRC-64/XZ check values', () => {
    expect(crc64(new TextEncoder().encode('123456789')).toString()).toBe('11051210869376104954');
    expect(crc64(new Uint8Array(0))).toBe(0n);
  });

  it('continues across chunks', () => {
    const data = new TextEncoder().encode('hello, mediaferry streaming world');
    const whole = crc64(data);
    const h = new Crc64().update(data.subarray(0, 7)).update(data.subarray(7));
    expect(h.digest()).toBe(whole);
    expect(crc64(data.subarray(5), crc64(data.subarray(0, 5)))).toBe(whole);
  });
});
