import { describe, expect, it } from 'vitest';
import { backoffDelay, parseRetryAfter, sleep } from './backoff.js';

describe('backoffDelay', () => {
  const opts = { baseMs: 100, maxMs: 3000 };

  it('stays within [ceiling/2, ceiling] with the ceiling doubling up to maxMs', () => {
    for (let retry = 1; retry <= 12; retry++) {
      const ceiling = Math.min(3000, 100 * 2 ** (retry - 1));
      expect(backoffDelay(retry, opts, undefined, () => 0)).toBe(Math.round(ceiling / 2));
      expect(backoffDelay(retry, opts, undefined, () => 0.999999)).toBe(Math.round(ceiling));
      for (let i = 0; i < 50; i++) {
        const d = backoffDelay(retry, opts);
        expect(d).toBeGreaterThanOrEqual(Math.floor(ceiling / 2));
        expect(d).toBeLessThanOrEqual(ceiling);
      }
    }
  });

  it('spreads retries (jitter) instead of repeating one value', () => {
    const values = new Set(Array.from({ length: 40 }, () => backoffDelay(5, opts)));
    expect(values.size).toBeGreaterThan(10);
  });

  it('honours a server Retry-After as a floor, even above maxMs', () => {
    expect(backoffDelay(1, opts, 7000, () => 0.5)).toBe(7000);
    expect(backoffDelay(6, opts, 10, () => 1)).toBe(3000);
  });

  it('caps a Retry-After at five minutes, or maxRetryAfterMs', () => {
    const opts = { baseMs: 100, maxMs: 1000 };
    expect(backoffDelay(1, opts, 86_400_000, () => 0)).toBe(300_000);
    expect(backoffDelay(1, { ...opts, maxRetryAfterMs: 2000 }, 86_400_000, () => 0)).toBe(2000);
    expect(backoffDelay(1, { ...opts, maxMs: 600_000 }, 86_400_000, () => 0)).toBe(600_000);
  });

  it('survives huge retry counts', () => {
    expect(backoffDelay(10_000, opts, undefined, () => 1)).toBe(3000);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    const now = Date.parse('Sun, 22 Nov 2026 01:08:13 GMT');
    expect(parseRetryAfter('Sun, 22 Nov 2026 01:08:20 GMT', now)).toBe(7000);
    expect(parseRetryAfter('Sun, 22 Nov 2026 01:08:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

describe('sleep', () => {
  it('rejects with AbortError as soon as the signal aborts', async () => {
    const ac = new AbortController();
    const started = performance.now();
    const p = sleep(60_000, ac.signal);
    queueMicrotask(() => ac.abort(new Error('stop')));
    await expect(p).rejects.toMatchObject({ name: 'AbortError', code: 'ABORTED' });
    expect(performance.now() - started).toBeLessThan(30_000);
    await expect(sleep(1, ac.signal)).rejects.toMatchObject({ name: 'AbortError' });
  });
});
