import { describe, expect, it } from 'vitest';
import { ShardSlots } from './shard-slots.js';

describe('ShardSlots', () => {
  it('lets one busy shard use every slot, and the others keep at least one', async () => {
    const slots = new ShardSlots(4, 3);
    const workers = [{ concurrency: 0 }, { concurrency: 0 }, { concurrency: 0 }];
    slots.attach(workers);
    expect(workers.map((w) => w.concurrency)).toEqual([4, 4, 4]);
    const releases: (() => void)[] = [];
    const run = slots.wrap(0, () => new Promise<void>((resolve) => releases.push(resolve)));
    const runs = [run(), run(), run()];
    expect(workers.map((w) => w.concurrency)).toEqual([4, 1, 1]);
    const other = slots.wrap(2, async () => 'done');
    const p = run();
    expect(workers.map((w) => w.concurrency)).toEqual([4, 1, 1]);
    for (const r of releases) r();
    await Promise.all([...runs, p]);
    expect(await other()).toBe('done');
    expect(workers.map((w) => w.concurrency)).toEqual([4, 4, 4]);
  });

  it('is plain concurrency with one shard', () => {
    const slots = new ShardSlots(4, 1);
    expect(slots.concurrencies()).toEqual([4]);
  });
});
