import { randomUUID } from 'node:crypto';
import { type RedisServer, startRedisServer } from '@mediaferry/testkit';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { type MetricsApp, startMetricsApp } from './app.js';
import { eventually, sampleValue } from './test-support/prometheus-text.js';

describe('metrics service over HTTP (real redis-server)', () => {
  let redis: RedisServer | undefined;
  let app: MetricsApp | undefined;
  const cleanups: Array<() => unknown> = [];

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => {});
    await app?.close();
    await redis?.stop();
    app = undefined;
    redis = undefined;
  });

  const start = async (server: RedisServer, queue: string, prefix: string) =>
    startMetricsApp({
      config: { redisUrl: server.url, redisPrefix: prefix, metricsPort: 0, bindHost: '127.0.0.1' },
      queues: [queue],
      collectTimeoutMs: 1000,
    });
  const get = async (path: string) => {
    const res = await fetch(`${app!.server.url}${path}`);
    return { status: res.status, text: await res.text() };
  };
  /** Adds a job and completes it with a manual worker. */
  const completeOne = async (server: RedisServer, name: string, prefix: string) => {
    const producer = new Redis(server.url, { maxRetriesPerRequest: null });
    const consumer = new Redis(server.url, { maxRetriesPerRequest: null });
    const queue = new Queue(name, { connection: producer, prefix });
    const worker = new Worker(name, null, { connection: consumer, prefix });
    try {
      await queue.add('upload', {});
      const token = randomUUID();
      const job = await worker.getNextJob(token);
      await job!.moveToCompleted('ok', token, false);
    } finally {
      await worker.close();
      await queue.close();
      producer.disconnect();
      consumer.disconnect();
    }
  };

  it('keeps serving through a Redis kill and restart, reporting redis_up 0 then 1', async () => {
    redis = await startRedisServer({ appendOnly: true });
    const name = `uploads-${randomUUID().slice(0, 8)}`;
    const prefix = `mf-${randomUUID().slice(0, 8)}`;
    app = await start(redis, name, prefix);
    await app.queueMetrics.ready();

    const before = await get('/metrics');
    expect(before.status).toBe(200);
    expect(sampleValue(before.text, 'mediaferry_queue_redis_up')).toBe(1);
    expect(sampleValue(before.text, 'mediaferry_queue_jobs', { queue: name, state: 'waiting' })).toBe(0);
    expect(sampleValue(before.text, 'process_cpu_seconds_total')).toBeTypeOf('number');

    await redis.kill();
    const during = await get('/metrics');
    expect(during.status).toBe(200);
    expect(sampleValue(during.text, 'mediaferry_queue_redis_up')).toBe(0);
    // No stale queue numbers while Redis cannot be read.
    expect(
      sampleValue(during.text, 'mediaferry_queue_jobs', { queue: name, state: 'waiting' }),
    ).toBeUndefined();
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/readyz')).status).toBe(200);

    await redis.restart();
    await eventually(
      async () => sampleValue((await get('/metrics')).text, 'mediaferry_queue_redis_up') === 1,
      'redis_up back to 1',
    );
    // The event reader reconnected too: a job completed after the restart is counted.
    await completeOne(redis, name, prefix);
    await eventually(
      async () =>
        sampleValue((await get('/metrics')).text, 'mediaferry_queue_completed_total', { queue: name }) === 1,
      'completed_total 1 after the restart',
    );
  });

  it('starts while Redis is down and catches up when it comes up', async () => {
    redis = await startRedisServer();
    await redis.kill();
    const name = `webhooks-${randomUUID().slice(0, 8)}`;
    const prefix = `mf-${randomUUID().slice(0, 8)}`;
    app = await start(redis, name, prefix);
    const down = await get('/metrics');
    expect(down.status).toBe(200);
    expect(sampleValue(down.text, 'mediaferry_queue_redis_up')).toBe(0);

    await redis.restart();
    await eventually(
      async () => sampleValue((await get('/metrics')).text, 'mediaferry_queue_redis_up') === 1,
      'redis_up 1 once Redis started',
    );
    await eventually(async () => {
      await app!.queueMetrics.ready();
      return true;
    }, 'event readers started');
    await completeOne(redis, name, prefix);
    await eventually(
      async () =>
        sampleValue((await get('/metrics')).text, 'mediaferry_queue_completed_total', { queue: name }) === 1,
      'completed_total 1',
    );
  });
});
