import { loadConfig } from '@mediaferry/config';
import { describe, expect, it } from 'vitest';
import { workerMemoryBudget } from './memory-budget.js';

const MiB = 1024 * 1024;

describe('workerMemoryBudget', () => {
  it('is one budget of WORKER_MEMORY_BUDGET_BYTES (64 MiB by default)', () => {
    expect(workerMemoryBudget(loadConfig({})).limitBytes).toBe(64 * MiB);
    expect(workerMemoryBudget(loadConfig({ WORKER_MEMORY_BUDGET_BYTES: String(16 * MiB) })).limitBytes).toBe(
      16 * MiB,
    );
  });

  it('refuses to start when a part of the largest URL source could never fit in the budget', () => {
    // 1 TiB in 10,000 parts needs parts of ~105 MiB, more than a 64 MiB budget holds.
    const config = loadConfig({ MEDIAFERRY_MAX_URL_BYTES: String(1024 ** 4) });
    expect(() => workerMemoryBudget(config)).toThrow(/WORKER_MEMORY_BUDGET_BYTES.*MEDIAFERRY_MAX_URL_BYTES/);
    const roomy = loadConfig({
      MEDIAFERRY_MAX_URL_BYTES: String(1024 ** 4),
      WORKER_MEMORY_BUDGET_BYTES: String(512 * MiB),
    });
    expect(workerMemoryBudget(roomy).limitBytes).toBe(512 * MiB);
  });
});
