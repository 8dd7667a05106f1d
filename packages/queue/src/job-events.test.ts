import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { type JobEvent, JobEventBus } from './job-events.js';
import { JobStore } from './job-store.js';
import { waitForRedisReady } from './redis-connection.js';
import { makeSpec, useRedis } from './test-support/fixtures.js';

const redisFixture = useRedis();

function collect<T>() {
  const items: T[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  return {
    items,
    push(item: T) {
      items.push(item);
      for (const w of waiters.filter((x) => items.length >= x.count)) w.resolve();
    },
    until(count: number): Promise<void> {
      if (items.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
  };
}

describe('JobEventBus', () => {
  it('delivers a cancel to every process listening (two buses, two connections)', async () => {
    const store = new JobStore(await redisFixture.connect(), { prefix: redisFixture.prefix() });
    const busA = new JobEventBus(await redisFixture.connect('subscriber'), store.keys);
    const busB = new JobEventBus(await redisFixture.connect('subscriber'), store.keys);
    const a = collect<string>();
    const b = collect<string>();
    await busA.onCancel((id) => a.push(id));
    const offB = await busB.onCancel((id) => b.push(id));
    const { record } = await store.create({ service: 's', spec: makeSpec() });
    await store.start(record.id, 1);
    await store.cancel(record.id);
    await Promise.all([a.until(1), b.until(1)]);
    expect(a.items).toEqual([record.id]);
    expect(b.items).toEqual([record.id]);
    // A refused cancel (already canceled) broadcasts nothing; an unsubscribed listener hears nothing.
    await offB();
    await store.cancel(record.id);
    const second = await store.create({ service: 's', spec: makeSpec() });
    await store.cancel(second.record.id);
    await a.until(2);
    expect(a.items).toEqual([record.id, second.record.id]);
    expect(b.items).toEqual([record.id]);
    await busA.close();
    await busB.close();
    await busA.close();
  });

  it('streams status and progress events of one job in order', async () => {
    const store = new JobStore(await redisFixture.connect(), { prefix: redisFixture.prefix() });
    const subscriber = await redisFixture.connect('subscriber');
    const bus = new JobEventBus(subscriber, store.keys);
    const { record } = await store.create({ service: 's', spec: makeSpec() });
    const other = await store.create({ service: 's', spec: makeSpec() });
    const events = collect<JobEvent>();
    const [off, off2] = await Promise.all([
      bus.subscribeJob(record.id, (e) => events.push(e)),
      bus.subscribeJob(record.id, () => {}),
    ]);
    await store.start(other.record.id, 1);
    await store.start(record.id, 1);
    const progress = {
      uploadedBytes: 1,
      totalBytes: null,
      percent: null,
      partsDone: 0,
      partsTotal: null,
      bytesPerSecond: 1,
    };
    await store.progress(record.id, progress);
    await store.succeed(record.id, {
      mediaId: null,
      mediaType: 'video',
      bucket: 'b',
      objectKey: 'k',
      size: 1,
      crc64: '0',
      url: null,
    });
    await events.until(3);
    expect(events.items).toEqual([
      { type: 'status', status: 'running' },
      { type: 'progress', progress },
      { type: 'status', status: 'succeeded' },
    ]);
    await off();
    await off2();
    await subscriber.ping();
    // Both listeners gone: the connection left the channel.
    const [, count] = (await store.redis.pubsub('NUMSUB', store.keys.events(record.id))) as [string, number];
    expect(count).toBe(0);
    await bus.close();
    if (subscriber.status !== 'end') await once(subscriber, 'end');
  });

  // Last in the file: it restarts the file's redis-server.
  it('leaves a channel when its last listener goes while Redis is away', async () => {
    const client = await redisFixture.connect();
    const store = new JobStore(client, { prefix: redisFixture.prefix() });
    const subscriber = await redisFixture.connect('subscriber');
    const bus = new JobEventBus(subscriber, store.keys);
    const channel = store.keys.events('job_gone');
    const off = await bus.subscribeJob('job_gone', () => {});
    expect(bus.ready).toBe(true);
    await redisFixture.server.kill();
    while (subscriber.status === 'ready') await new Promise((r) => setTimeout(r, 10));
    expect(bus.ready).toBe(false);
    await off(); // returns at once, whatever the connection's state
    await redisFixture.server.restart();
    await waitForRedisReady(client);
    await waitForRedisReady(subscriber);
    const numsub = async () => ((await client.pubsub('NUMSUB', channel)) as [string, number])[1];
    while ((await numsub()) !== 0) await new Promise((r) => setTimeout(r, 20));
    expect(await numsub()).toBe(0);
    await bus.close();
  });
});
