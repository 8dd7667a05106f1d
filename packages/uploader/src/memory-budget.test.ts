import { MemoryBudgetError } from '@mediaferry/core';
import { describe, expect, it, vi } from 'vitest';
import { MemoryBudget } from './memory-budget.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('MemoryBudget', () => {
  it('waits for room instead of allocating past the limit, and reuses what was released', async () => {
    const budget = new MemoryBudget({ limitBytes: 300, collect: null });
    const a = await budget.acquire(100);
    const b = await budget.acquire(200);
    let c: Uint8Array | undefined;
    const waiting = budget.acquire(100).then((x) => {
      c = x;
    });
    await tick();
    expect(c).toBeUndefined();
    expect(budget.waiting).toBe(1);
    budget.release(a);
    await waiting;
    expect(c).toBe(a); // same size: the released buffer itself
    expect(budget.inUseBytes).toBe(300);
    budget.release(b);
    budget.release(c!);
    expect(budget.inUseBytes).toBe(0);
    expect(budget.peakInUseBytes).toBe(300);
  });

  it('refuses a request larger than the whole budget with a code that names the setting', async () => {
    const budget = new MemoryBudget({ limitBytes: 1024, collect: null });
    expect(() => budget.acquire(1025)).toThrow(MemoryBudgetError);
    try {
      budget.assertFits(4096, 'one part');
    } catch (err) {
      expect(err).toMatchObject({ code: 'MEMORY_BUDGET_EXCEEDED', retryable: false });
      expect((err as Error).message).toMatch(/WORKER_MEMORY_BUDGET_BYTES/);
    }
    expect(() => budget.assertFits(1024, 'one part')).not.toThrow();
  });

  it('serves the waiter of the holder with the fewest buffers first, and never lets a large one starve', async () => {
    const budget = new MemoryBudget({ limitBytes: 400, collect: null });
    const busy = {};
    const idle = {};
    const held = await Promise.all([1, 2, 3, 4].map(() => budget.acquire(100, undefined, busy)));
    const order: string[] = [];
    const more = budget.acquire(100, undefined, busy).then((b) => {
      order.push('busy');
      return b;
    });
    const first = budget.acquire(100, undefined, idle).then((b) => {
      order.push('idle');
      return b;
    });
    budget.release(held[0]!, busy);
    await first;
    expect(order).toEqual(['idle']);
    budget.release(held[1]!, busy);
    await more;
    expect(order).toEqual(['idle', 'busy']);
    // A 300-byte request at the head is not overtaken by a later 100-byte one.
    const big = budget.acquire(300, undefined, idle);
    let small = false;
    void budget.acquire(100, undefined, idle).then(() => {
      small = true;
    });
    budget.release(held[2]!, busy);
    await tick();
    expect(small).toBe(false);
    budget.release(held[3]!, busy);
    budget.release(await more, busy);
    await big;
    expect(budget.inUseBytes).toBeLessThanOrEqual(400);
  });

  it('drops free buffers of another size to make room, and everything once idle', async () => {
    let collected = 0;
    const budget = new MemoryBudget({ limitBytes: 300, collect: () => collected++ });
    const a = await budget.acquire(200);
    budget.release(a);
    expect(budget.freeBytes).toBe(200);
    const b = await budget.acquire(150); // 200 free + 150 > 300: the free one goes
    expect(budget.freeBytes).toBe(0);
    budget.release(b);
    budget.trim();
    expect(budget.freeBytes).toBe(0);
    expect(collected).toBe(1);
  });

  it('rejects a waiting acquire when its signal aborts, and lets the next one through', async () => {
    const budget = new MemoryBudget({ limitBytes: 100, collect: null });
    const held = await budget.acquire(60);
    const ac = new AbortController();
    const big = budget.acquire(100, ac.signal);
    const small = budget.acquire(40);
    ac.abort();
    await expect(big).rejects.toMatchObject({ name: 'AbortError' });
    await small;
    budget.release(held);
    expect(budget.waiting).toBe(0);
  });

  it('gives its free buffers up (and asks for a GC) a second after the last one came back', async () => {
    vi.useFakeTimers();
    try {
      let collected = 0;
      const budget = new MemoryBudget({ limitBytes: 100, collect: () => collected++ });
      budget.release(await budget.acquire(50));
      expect(budget.freeBytes).toBe(50);
      vi.advanceTimersByTime(999);
      expect(budget.freeBytes).toBe(50); // a job starting right away would reuse it
      vi.advanceTimersByTime(1);
      expect(budget.freeBytes).toBe(0);
      expect(collected).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });
});
