/** What ShardSlots adjusts: a BullMQ Worker's `concurrency` (it takes effect at the next fetch). */
export interface ConcurrencyKnob {
  concurrency: number;
}

/**
 * One process-wide `WORKER_CONCURRENCY` shared by the BullMQ workers of the queue shards: each shard
 * may fetch as many jobs as it runs plus the process's free slots, so a busy shard uses every slot
 * while the others are empty, and the process stays within concurrency + shards − 1 jobs (a shard
 * never goes below 1, BullMQ's minimum, and fetches on different shards may cross). With one shard
 * this is plain BullMQ concurrency.
 */
export class ShardSlots {
  readonly #active: number[];
  #workers: readonly ConcurrencyKnob[] = [];

  constructor(
    readonly total: number,
    shards: number,
  ) {
    this.#active = Array.from({ length: shards }, () => 0);
  }

  /** The concurrency each shard gets now. */
  concurrencies(): number[] {
    const free = Math.max(0, this.total - this.#active.reduce((a, b) => a + b, 0));
    return this.#active.map((running) => Math.max(1, running + free));
  }

  /** The shard workers, in shard order; their concurrency follows the running jobs from now on. */
  attach(workers: readonly ConcurrencyKnob[]): void {
    this.#workers = workers;
    this.#apply();
  }

  /** Wraps shard `shard`'s processor so its running jobs are counted. */
  wrap<A extends unknown[], R>(
    shard: number,
    process: (...args: A) => Promise<R>,
  ): (...args: A) => Promise<R> {
    return async (...args: A) => {
      this.#active[shard] = (this.#active[shard] ?? 0) + 1;
      this.#apply();
      try {
        return await process(...args);
      } finally {
        this.#active[shard] = (this.#active[shard] ?? 1) - 1;
        this.#apply();
      }
    };
  }

  #apply(): void {
    const next = this.concurrencies();
    for (const [i, w] of this.#workers.entries()) {
      const c = next[i] ?? 1;
      if (w.concurrency !== c) w.concurrency = c;
    }
  }
}
