import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { crc64JsBytewise } from './crc64-js.js';
import {
  type Crc64Fn,
  type Crc64ImplName,
  crc64Implementations,
  IMPL_ENV,
  nativeLoadError,
  selectCrc64Implementation,
} from './implementations.js';

const kernels = Object.entries(crc64Implementations) as [Crc64ImplName, Crc64Fn][];
const nativeKernels = kernels.filter(([name]) => name !== 'js');
const randomCrc = () => randomBytes(8).readBigUInt64LE();

describe('crc64 kernels', () => {
  it('includes the native addon where the build requires it', () => {
    // scripts/build-native.mjs fails the build under CI=true when the addon cannot be built, so in CI a
    // missing addon here means it was built but does not load.
    if (process.env.CI === 'true') {
      expect(nativeLoadError).toBeUndefined();
      expect(crc64Implementations['native-table']).toBeDefined();
    }
    expect(crc64Implementations.js).toBeDefined();
  });

  it.each(kernels)('%s: check values', (_name, fn) => {
    expect(fn(new TextEncoder().encode('123456789'), 0n)).toBe(11051210869376104954n);
    expect(fn(new Uint8Array(0), 0n)).toBe(0n);
    expect(fn(new Uint8Array(0), 12345n)).toBe(12345n);
  });

  it.each(kernels)('%s: equals the byte-wise reference for lengths 0..2100 at offsets 0..15', (_name, fn) => {
    const buf = randomBytes(2200);
    for (let off = 0; off < 16; off++) {
      for (let len = 0; len <= 2100; len += len < 300 ? 1 : 37) {
        const data = buf.subarray(off, off + len);
        const seed = randomCrc();
        expect(fn(data, seed)).toBe(crc64JsBytewise(data, seed));
      }
    }
  });

  it.each(kernels)('%s: equals the byte-wise reference on MiB-sized odd buffers', (_name, fn) => {
    const buf = randomBytes(2 * 1024 * 1024 + 64);
    for (const [off, len] of [
      [0, 1024 * 1024],
      [3, 1024 * 1024 + 5],
      [15, 2 * 1024 * 1024 + 33],
      [7, 65_536 + 63],
    ] as const) {
      const data = buf.subarray(off, off + len);
      expect(fn(data, 0n)).toBe(crc64JsBytewise(data));
    }
  });

  it.each(kernels)('%s: continues across random chunk boundaries', (_name, fn) => {
    const data = randomBytes(200_000);
    const whole = crc64JsBytewise(data);
    for (let round = 0; round < 20; round++) {
      let crc = 0n;
      for (let off = 0; off < data.length; ) {
        const n = Math.min(data.length - off, Math.floor(Math.random() * 20_000));
        crc = fn(data.subarray(off, off + n), crc);
        off += n;
      }
      expect(crc).toBe(whole);
    }
  });

  it.each(kernels)('%s: rejects a CRC outside 0..2^64-1', (_name, fn) => {
    expect(() => fn(new Uint8Array(1), -1n)).toThrow(RangeError);
    expect(() => fn(new Uint8Array(1), 1n << 64n)).toThrow(RangeError);
  });

  it.each(nativeKernels)('%s: rejects arguments of the wrong type', (_name, fn) => {
    expect(() => fn(new Uint16Array(4) as unknown as Uint8Array, 0n)).toThrow(TypeError);
    expect(() => fn('abc' as unknown as Uint8Array, 0n)).toThrow(TypeError);
    expect(() => fn(new Uint8Array(1), 0 as unknown as bigint)).toThrow(TypeError);
  });

  it.each(nativeKernels)('%s: reads a Uint8Array over a SharedArrayBuffer', (_name, fn) => {
    const shared = new Uint8Array(new SharedArrayBuffer(4096));
    shared.set(randomBytes(4096));
    const copy = Uint8Array.from(shared);
    expect(fn(shared.subarray(5), 0n)).toBe(crc64JsBytewise(copy.subarray(5)));
  });
});

describe('selectCrc64Implementation', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('picks the fastest loaded kernel by default', () => {
    const best = crc64Implementations['native-clmul']
      ? 'native-clmul'
      : crc64Implementations['native-table']
        ? 'native-table'
        : 'js';
    expect(selectCrc64Implementation(undefined).name).toBe(best);
    expect(selectCrc64Implementation('').name).toBe(best);
    expect(selectCrc64Implementation('auto').name).toBe(best);
  });

  it('forces JS, or a native kernel only when it loaded', () => {
    expect(selectCrc64Implementation('js').name).toBe('js');
    if (crc64Implementations['native-table']) {
      expect(selectCrc64Implementation('native').name).not.toBe('js');
      expect(selectCrc64Implementation('native-table').name).toBe('native-table');
    } else {
      expect(() => selectCrc64Implementation('native')).toThrow(/not available/);
    }
    if (!crc64Implementations['native-clmul']) {
      expect(() => selectCrc64Implementation('native-clmul')).toThrow(/not available/);
    }
  });

  it('refuses an unknown value, naming the variable', () => {
    expect(() => selectCrc64Implementation('fast')).toThrow(new RegExp(IMPL_ENV));
  });

  it(`honours ${IMPL_ENV}=js at import`, async () => {
    vi.stubEnv(IMPL_ENV, 'js');
    vi.resetModules();
    const mod = await import('./index.js');
    expect(mod.crc64Implementation).toBe('js');
    expect(mod.crc64(new TextEncoder().encode('123456789'))).toBe(11051210869376104954n);
  });

  it(`fails the import on a bad ${IMPL_ENV}`, async () => {
    vi.stubEnv(IMPL_ENV, 'turbo');
    vi.resetModules();
    await expect(import('./index.js')).rejects.toThrow(new RegExp(IMPL_ENV));
  });
});
