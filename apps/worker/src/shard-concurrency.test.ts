import { describe, expect, it } from 'vitest';
import { shardConcurrency } from './build-worker.js';

describe('shardConcurrency', () => {
  it('splits a worker concurrency over the shards, at least one each', () => {
    expect(shardConcurrency(4, 1)).toEqual([4]);
    expect(shardConcurrency(4, 3, 0)).toEqual([2, 1, 1]);
    expect(shardConcurrency(4, 3, 2)).toEqual([1, 1, 2]);
    expect(shardConcurrency(9, 3)).toEqual([3, 3, 3]);
    expect(shardConcurrency(2, 3, 1)).toEqual([1, 1, 1]);
    for (let start = 0; start < 5; start++) {
      expect(shardConcurrency(12, 5, start).reduce((a, b) => a + b, 0)).toBe(12);
    }
  });
});
