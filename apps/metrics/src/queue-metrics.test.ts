import { randomUUID } from 'node:crypto';
import { type RedisServer, startRedisServer } from '@mediaferry/testkit';
import { FlowProducer, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createQueueMetrics, type QueueMetrics } from './queue-metrics.js';
import { waitingSince } from './queue-snapshot.js';
import { eventually, sampleValue } from './test-support/prometheus-text.js';

describe('createQueueMetrics (real redis-server + BullMQ)', () => {
  let redis: RedisServer;
  let connections: Redis[];
  let closers: Array<() => Promise<unknown>>;
  const prefix = `mf-test-${randomUUID().slice(0, 8)}`;

  beforeEach(async () => {
    redis = await startRedisServer();
    connections = [];
    closers = [];
  });
  afterEach(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
    for (const c of connections) c.disconnect();
    await redis.stop();
  });

  const connect = () => {
    const c = new Redis(redis.url, { maxRetriesPerRequest: null });
    connections.push(c);
    return c;
  };
  const track = <T extends { close(): Promise<unknown> }>(thing: T): T => {
    closers.push(() => thing.close());
    return thing;
  };

  it('reports every state, the oldest waiting age, pauses and completed/failed counts', async () => {
    const name = `uploads-${randomUUID().slice(0, 8)}`;
    const queue = track(new Queue(name, { connection: connect(), prefix }));
    const worker = track(new Worker(name, null, { connection: connect(), prefix }));
    const metrics: QueueMetrics = track(createQueueMetrics({ redis: redis.url, prefix, queues: [name] }));
    await metrics.ready();
    const scrape = () => metrics.registry.metrics();
    const jobs = async (state: string) =>
      sampleValue(await scrape(), 'mediaferry_queue_jobs', { queue: name, state });

    // completed ×2, failed ×1, active ×1, taken one at a time by a manual worker
    const token = randomUUID();
    for (const outcome of ['ok', 'ok', 'fail', 'hold']) {
      await queue.add('upload', { outcome });
      const job = await worker.getNextJob(token);
      if (!job) throw new Error('no job fetched');
      if (outcome === 'ok') await job.moveToCompleted('done', token, false);
      if (outcome === 'fail') await job.moveToFailed(new Error('boom'), token, false);
    }
    const now = Date.now();
    await queue.add('upload', {}, { delay: 3_600_000 });
    await queue.add('upload', {}, { priority: 5, timestamp: now - 1_200_000 });
    await queue.add('upload', {}, { priority: 5 });
    await queue.add('upload', {}, { timestamp: now - 600_000 });
    await queue.add('upload', {});
    await queue.add('upload', {});
    const flows = track(new FlowProducer({ connection: connect(), prefix }));
    await flows.add({ name: 'parent', queueName: name, children: [{ name: 'child', queueName: name }] });

    const text = await scrape();
    const expected = {
      waiting: 4, // 3 plain + the flow's child
      active: 1,
      delayed: 1,
      failed: 1,
      completed: 2,
      paused: 0,
      prioritized: 2,
      'waiting-children': 1,
    };
    for (const [state, count] of Object.entries(expected)) {
      expect(sampleValue(text, 'mediaferry_queue_jobs', { queue: name, state }), state).toBe(count);
    }
    expect(sampleValue(text, 'mediaferry_queue_redis_up')).toBe(1);
    expect(sampleValue(text, 'mediaferry_queue_paused', { queue: name })).toBe(0);
    // The prioritized job created 20 minutes ago is the oldest waiting one.
    const age = sampleValue(text, 'mediaferry_queue_oldest_waiting_seconds', { queue: name })!;
    expect(age).toBeGreaterThanOrEqual(1200);
    expect(age).toBeLessThan(1200 + 60);

    await eventually(
      async () =>
        sampleValue(await scrape(), 'mediaferry_queue_completed_total', { queue: name }) === 2 &&
        sampleValue(await scrape(), 'mediaferry_queue_failed_total', { queue: name }) === 1,
      'completed_total 2 and failed_total 1',
    );

    await queue.pause();
    const pausedText = await scrape();
    expect(sampleValue(pausedText, 'mediaferry_queue_paused', { queue: name })).toBe(1);
    expect(sampleValue(pausedText, 'mediaferry_queue_jobs', { queue: name, state: 'paused' })).toBe(4);
    expect(sampleValue(pausedText, 'mediaferry_queue_jobs', { queue: name, state: 'waiting' })).toBe(0);
    await queue.resume();
    expect(await jobs('waiting')).toBe(4);
  });

  it('reports 0 as the oldest age of an empty queue and only FIFO-tail age for plain jobs', async () => {
    const name = `webhooks-${randomUUID().slice(0, 8)}`;
    const queue = track(new Queue(name, { connection: connect(), prefix }));
    const metrics = track(createQueueMetrics({ redis: redis.url, prefix, queues: [name] }));
    const age = async () =>
      sampleValue(await metrics.registry.metrics(), 'mediaferry_queue_oldest_waiting_seconds', {
        queue: name,
      });
    expect(await age()).toBe(0);
    await queue.add('deliver', {}, { timestamp: Date.now() - 90_000 });
    await queue.add('deliver', {});
    const a = (await age())!;
    expect(a).toBeGreaterThanOrEqual(90);
    expect(a).toBeLessThan(90 + 60);
  });

  it('counts a job from when it last started waiting, not from its creation, once it ran', () => {
    expect(waitingSince({ timestamp: 1000, processedOn: undefined, opts: {} })).toBe(1000);
    expect(waitingSince({ timestamp: 1000, processedOn: undefined, opts: { delay: 500 } })).toBe(1500);
    expect(waitingSince({ timestamp: 1000, processedOn: 9000, opts: {} })).toBe(9000);
  });
});
