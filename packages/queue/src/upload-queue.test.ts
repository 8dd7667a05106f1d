import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { JobStore } from './job-store.js';
import { QUEUE_NAMES, StoreKeys } from './store-keys.js';
import { makeSpec, useRedis } from './test-support/fixtures.js';
import { createUploadQueue, enqueueUploads, uploadJobOptions } from './upload-queue.js';

const redisFixture = useRedis();

describe('upload queue', () => {
  it('defaults to 8 attempts with jittered exponential backoff and bounded retention', () => {
    expect(uploadJobOptions()).toEqual({
      attempts: 8,
      backoff: { type: 'exponential', delay: 5000, jitter: 0.5 },
      removeOnComplete: { age: 86400, count: 10000 },
      removeOnFail: { age: 604800, count: 10000 },
    });
  });

  it('enqueues records under their own id, once however often it is asked', async () => {
    const redis = await redisFixture.connect();
    const prefix = redisFixture.prefix();
    const store = new JobStore(redis, { prefix });
    const queue = createUploadQueue(redis, { prefix });
    try {
      const created = await store.createMany([
        { service: 's', spec: makeSpec() },
        { service: 's', spec: makeSpec({ priority: 5 }) },
      ]);
      const records = created.map((c) => c.record);
      await enqueueUploads(queue, records);
      await enqueueUploads(queue, records);
      expect(await queue.getJobCountByTypes('wait', 'prioritized')).toBe(2);
      const job = await queue.getJob(records[1]?.id as string);
      expect(job?.data).toEqual({ jobId: records[1]?.id, service: 's' });
      expect(job?.opts).toMatchObject({
        attempts: 8,
        priority: 5,
        backoff: { type: 'exponential', jitter: 0.5 },
      });
      // One record at a time takes another path (queue.add): the same job, still once.
      const [single] = await store.createMany([{ service: 's', spec: makeSpec({ priority: 3 }) }]);
      const one = single?.record as (typeof records)[number];
      await enqueueUploads(queue, [one]);
      await enqueueUploads(queue, [one]);
      await enqueueUploads(queue, [records[0] as typeof one]);
      expect(await queue.getJobCountByTypes('wait', 'prioritized')).toBe(3);
      const added = await queue.getJob(one.id);
      expect(added?.data).toEqual({ jobId: one.id, service: 's' });
      expect(added?.opts).toMatchObject({
        attempts: 8,
        priority: 3,
        backoff: { type: 'exponential', jitter: 0.5 },
      });
      expect(added?.opts.removeOnComplete).toEqual(job?.opts.removeOnComplete);
      // Keys live under the configured prefix, in the shard's hash tag.
      expect(await redis.exists(`${prefix}:{uploads-0}:${QUEUE_NAMES.uploads}:meta`)).toBe(1);
      const other = new Queue(QUEUE_NAMES.uploads, { connection: redis });
      expect(await other.getJobCountByTypes('wait', 'prioritized')).toBe(0);
      await other.close();
    } finally {
      await queue.close();
    }
  });

  it('spreads jobs over the shards by id, and finds, counts and removes them there', async () => {
    const redis = await redisFixture.connect();
    const prefix = redisFixture.prefix();
    const store = new JobStore(redis, { prefix });
    const queues = createUploadQueue(redis, { prefix, shards: 3 });
    try {
      const created = await store.createMany(
        Array.from({ length: 60 }, (_, i) => ({ service: 's', spec: makeSpec({ idempotencyKey: `k${i}` }) })),
      );
      const records = created.map((c) => c.record);
      await enqueueUploads(queues, records);
      expect(await queues.getJobCountByTypes('wait', 'prioritized')).toBe(60);
      const perShard = await Promise.all(queues.shards.map((q) => q.getJobCountByTypes('wait')));
      // 60 ids over 3 shards: every shard gets some (the chance one gets none is 3 × (2/3)^60).
      for (const n of perShard) expect(n).toBeGreaterThan(0);
      const keys = new StoreKeys(prefix);
      for (const record of records.slice(0, 10)) {
        const shard = queues.shardOf(record.id);
        expect(queues.shards[shard]?.opts.prefix).toBe(keys.uploadQueuePrefix(shard));
        expect((await queues.getJob(record.id))?.data.jobId).toBe(record.id);
      }
      const [first] = records;
      expect(await queues.remove(first?.id as string)).toBe(1);
      expect(await queues.getJob(first?.id as string)).toBeUndefined();
      expect(await queues.getJobCountByTypes('wait', 'prioritized')).toBe(59);
    } finally {
      await queues.close();
    }
  });
});
