import { describe, expect, it } from 'vitest';
import { FaultInjector } from './fault-injector.js';
import { Throttle } from './throttle.js';

describe('FaultInjector', () => {
  it('matches by service, operation and key, and counts uses down', () => {
    const f = new FaultInjector();
    f.add({
      service: 'oss',
      operation: 'UploadPart',
      key: 'a',
      count: 2,
      action: { kind: 'fail', status: 503, code: 'X' },
    });
    expect(f.match('oss', 'UploadPart', 'b')).toEqual({});
    expect(f.match('vod', 'UploadPart', 'a')).toEqual({});
    expect(f.match('oss', 'PutObject', 'a')).toEqual({});
    expect(f.match('oss', 'UploadPart', 'a').action).toEqual({ kind: 'fail', status: 503, code: 'X' });
    expect(f.list()[0]).toMatchObject({ remaining: 1, hits: 1 });
    expect(f.match('oss', 'UploadPart', 'a').action?.kind).toBe('fail');
    expect(f.list()).toEqual([]);
  });

  it('combines one delay with the earliest fail/reset/cut; later ones wait their turn', () => {
    const f = new FaultInjector();
    f.add({ action: { kind: 'delay', ms: 50 } });
    f.add({ count: 1, action: { kind: 'reset' } });
    f.add({ count: 1, action: { kind: 'cut', afterBytes: 10 } });
    expect(f.match('oss', 'GetObject', 'k')).toEqual({ delay: 50, action: { kind: 'reset' } });
    expect(f.match('vod', 'GetVideoInfo', undefined)).toEqual({
      delay: 50,
      action: { kind: 'cut', afterBytes: 10 },
    });
    expect(f.match('oss', 'GetObject', 'k')).toEqual({ delay: 50 });
    f.reset();
    expect(f.match('oss', 'GetObject', 'k')).toEqual({});
  });

  it('refuses malformed rules', () => {
    const f = new FaultInjector();
    expect(() => f.add({ action: { kind: 'fail', status: 200, code: 'X' } })).toThrow(RangeError);
    expect(() => f.add({ action: { kind: 'fail', status: 500, code: '' } })).toThrow(RangeError);
    expect(() => f.add({ count: 0, action: { kind: 'reset' } })).toThrow(RangeError);
    expect(() => f.add({ action: { kind: 'cut', afterBytes: -1 } })).toThrow(RangeError);
    expect(() => f.add({ action: { kind: 'nope' } as never })).toThrow(RangeError);
  });
});

describe('Throttle', () => {
  it('books transfers on one shared timeline', async () => {
    const t = new Throttle(100_000);
    const started = performance.now();
    await Promise.all([t.take(10_000), t.take(10_000), t.take(10_000)]);
    // 30 kB at 100 kB/s: the last chunk completes ~300 ms after the first started.
    expect(performance.now() - started).toBeGreaterThanOrEqual(280);
  });
});
