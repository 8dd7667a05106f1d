import { describe, expect, it } from 'vitest';
import { BufferPool } from './buffer-pool.js';

describe('BufferPool', () => {
  it('never holds more than capacity buffers; acquire waits for a release', async () => {
    const pool = new BufferPool({ capacity: 3 });
    const held = await Promise.all([pool.acquire(1024), pool.acquire(1024), pool.acquire(1024)]);
    let fourth: Uint8Array | undefined;
    const waiting = pool.acquire(1024).then((b) => {
      fourth = b;
    });
    await new Promise((r) => setImmediate(r));
    expect(fourth).toBeUndefined();
    pool.release(held[1]!);
    await waiting;
    expect(fourth).toBe(held[1]);
    expect(pool.allocatedBytes).toBe(3 * 1024);
    expect(pool.outstanding).toBe(3);
  });

  it('bounds memory over a long run whatever the number of parts', async () => {
    const pool = new BufferPool({ capacity: 5 });
    const workers = Array.from({ length: 12 }, async () => {
      for (let i = 0; i < 200; i++) {
        const b = await pool.acquire(64 * 1024);
        await new Promise((r) => setImmediate(r));
        pool.release(b);
      }
    });
    await Promise.all(workers);
    expect(pool.peakAllocatedBytes).toBe(5 * 64 * 1024);
    expect(pool.outstanding).toBe(0);
  });

  it('replaces a buffer that is too small (growing parts) without exceeding capacity', async () => {
    const pool = new BufferPool({ capacity: 2 });
    const a = await pool.acquire(100);
    const b = await pool.acquire(100);
    pool.release(a);
    pool.release(b);
    const big = await pool.acquire(400);
    expect(big.byteLength).toBe(400);
    const small = await pool.acquire(50);
    expect(small.byteLength).toBe(100);
    expect(pool.allocatedBytes).toBe(500);
    pool.release(big);
    pool.release(small);
    pool.drain();
    expect(pool.allocatedBytes).toBe(0);
  });

  it('rejects a waiting acquire with AbortError when its signal aborts', async () => {
    const pool = new BufferPool({ capacity: 1 });
    const held = await pool.acquire(10);
    const ac = new AbortController();
    const waiting = pool.acquire(10, ac.signal);
    ac.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    pool.release(held);
    expect(pool.outstanding).toBe(0);
    await expect(pool.acquire(10, ac.signal)).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('refuses a release without an acquire', () => {
    expect(() => new BufferPool({ capacity: 1 }).release(new Uint8Array(1))).toThrow();
    expect(() => new BufferPool({ capacity: 0 })).toThrow(RangeError);
  });
});
