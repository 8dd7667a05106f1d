import { jobSpecSchema } from '@mediaferry/core';
import {
  type CreateJobInput,
  closeRedis,
  createRedis,
  createUploadQueue,
  enqueueUploads,
  JobStore,
  type RedisClient,
  type UploadQueues,
  waitForRedisReady,
} from '@mediaferry/queue';
import { freePort, type RedisServer, startRedisServer } from '@mediaferry/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobCreateBatcher } from './job-create-batcher.js';

let server: RedisServer;
let redis: RedisClient;
const queues: UploadQueues[] = [];
let prefixes = 0;

beforeAll(async () => {
  server = await startRedisServer();
  redis = createRedis(server.url, { role: 'client', autoPipelining: true });
  await waitForRedisReady(redis);
});
afterAll(async () => {
  for (const q of queues) await q.close();
  await closeRedis(redis);
  await server?.stop();
});

const spec = (title: string, idempotencyKey?: string) =>
  jobSpecSchema.parse({
    source: { type: 'file', path: '/srv/media/a.mp4' },
    media: { type: 'video', title },
    ...(idempotencyKey ? { idempotencyKey } : {}),
  });

/** The real store, observed: records the size of each `createMany`. */
function observedStore() {
  prefixes += 1;
  const prefix = `batch${prefixes}`;
  const store = new JobStore(redis, { prefix });
  const calls: number[] = [];
  const createMany = store.createMany.bind(store);
  store.createMany = (inputs: readonly CreateJobInput[]) => {
    calls.push(inputs.length);
    return createMany(inputs);
  };
  const queue = createUploadQueue(redis, { prefix });
  queues.push(queue);
  return { store, calls, queue };
}

describe('JobCreateBatcher', () => {
  it('writes the creates of one turn as one batch, each caller getting its own results in order', async () => {
    const { store, calls, queue } = observedStore();
    const batcher = new JobCreateBatcher({ store, enqueue: (records) => enqueueUploads(queue, records) });
    const asks = Array.from({ length: 40 }, (_, i) =>
      batcher.create([
        { service: `svc-${i % 3}`, spec: spec(`T${i}`) },
        { service: `svc-${i % 3}`, spec: spec(`U${i}`) },
      ]),
    );
    const results = await Promise.all(asks);
    expect(calls).toEqual([80]);
    for (const [i, pair] of results.entries()) {
      expect(pair.map((r) => [r.outcome, r.record.service, r.record.spec.media.title])).toEqual([
        ['created', `svc-${i % 3}`, `T${i}`],
        ['created', `svc-${i % 3}`, `U${i}`],
      ]);
    }
    expect(await queue.getJobCountByTypes('wait', 'prioritized')).toBe(80);
    // The next turn is the next batch.
    await batcher.create([{ service: 'svc-0', spec: spec('later') }]);
    expect(calls).toEqual([80, 1]);
  });

  it('keeps idempotency per job inside a batch: one job per key, a conflict for another spec', async () => {
    const { store, calls, queue } = observedStore();
    const batcher = new JobCreateBatcher({ store, enqueue: (records) => enqueueUploads(queue, records) });
    const same = Array.from({ length: 10 }, () => batcher.create([{ service: 'a', spec: spec('A', 'k1') }]));
    const other = batcher.create([{ service: 'a', spec: spec('B', 'k1') }]);
    const otherService = batcher.create([{ service: 'b', spec: spec('A', 'k1') }]);
    const results = (await Promise.all([...same, other, otherService])).map(([r]) => r);
    expect(calls).toEqual([12]);
    const outcomes = results.map((r) => r?.outcome);
    expect(outcomes.slice(0, 10).sort()).toEqual(['created', ...Array(9).fill('existing')]);
    expect(outcomes.slice(10)).toEqual(['conflict', 'created']);
    expect(new Set(results.slice(0, 11).map((r) => r?.record.id)).size).toBe(1);
    expect(await queue.getJobCountByTypes('wait', 'prioritized')).toBe(2);
  });

  it('flushes at maxBatch without waiting for the end of the turn', async () => {
    const { store, calls, queue } = observedStore();
    const batcher = new JobCreateBatcher({
      store,
      enqueue: (records) => enqueueUploads(queue, records),
      maxBatch: 4,
    });
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => batcher.create([{ service: 'a', spec: spec(`${i}`) }])),
    );
    expect(calls).toEqual([4, 4, 2]);
  });

  it('hands an error of the shared steps to every caller of the batch', async () => {
    const { store, queue } = observedStore();
    // A queue on a connection to a Redis that is not there: the enqueue fails as it would in an outage.
    const nowhere = createRedis(`redis://127.0.0.1:${await freePort()}`, {
      role: 'client',
      lazyConnect: true,
    });
    const deadQueue = createUploadQueue(nowhere, { prefix: 'dead' });
    deadQueue.on('error', () => {});
    try {
      const batcher = new JobCreateBatcher({
        store,
        enqueue: (records) => enqueueUploads(deadQueue, records),
      });
      const asks = Array.from({ length: 5 }, (_, i) =>
        batcher.create([{ service: 'a', spec: spec(`${i}`, `key-${i}`) }]),
      );
      const settled = await Promise.allSettled(asks);
      expect(settled.map((s) => s.status)).toEqual(Array(5).fill('rejected'));
      // The records exist (queued); a repeat with the same key answers them and enqueues them.
      const healthy = new JobCreateBatcher({ store, enqueue: (records) => enqueueUploads(queue, records) });
      const again = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          healthy.create([{ service: 'a', spec: spec(`${i}`, `key-${i}`) }]),
        ),
      );
      expect(again.map(([r]) => r?.outcome)).toEqual(Array(5).fill('existing'));
      expect(await queue.getJobCountByTypes('wait', 'prioritized')).toBe(5);
    } finally {
      await deadQueue.close().catch(() => {});
      nowhere.disconnect();
    }
  });
});
