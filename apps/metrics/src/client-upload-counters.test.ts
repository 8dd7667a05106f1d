import { ClientUploadCounts } from '@mediaferry/client-uploads';
import { startRedisServer } from '@mediaferry/testkit';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { ClientUploadCounters } from './client-upload-counters.js';

describe('client-upload counters', () => {
  const closers: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of closers.reverse()) await c();
  });

  it('export the totals every API replica adds in Redis, only ever going up', async () => {
    const server = await startRedisServer();
    closers.push(() => server.stop());
    const redis = new Redis(server.url);
    closers.push(async () => redis.quit());
    const registry = new Registry();
    const counters = new ClientUploadCounters({ redisUrl: server.url, prefix: 'mx', registry });
    closers.push(() => counters.close());
    const value = async (name: string, labels: Record<string, string>) => {
      const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
      return metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
    };
    expect(await value('mediaferry_client_uploads_total', { status: 'completed' })).toBe(0);

    const replicaA = new ClientUploadCounts(redis, 'mx');
    const replicaB = new ClientUploadCounts(redis, 'mx');
    replicaA.status('completed');
    replicaB.status('completed');
    replicaB.status('rejected');
    replicaA.vodEvent('FileUploadComplete', 'bad_signature');
    replicaA.vodEvent('NotAnEvent', 'accepted');
    await redis.ping();
    await redis.hincrby('mx:cu-metrics', 'status:made-up', 5); // unknown labels are never exported
    expect(await value('mediaferry_client_uploads_total', { status: 'completed' })).toBe(2);
    expect(await value('mediaferry_client_uploads_total', { status: 'rejected' })).toBe(1);
    expect(
      await value('mediaferry_vod_events_total', { type: 'FileUploadComplete', result: 'bad_signature' }),
    ).toBe(1);
    expect(await value('mediaferry_vod_events_total', { type: 'other', result: 'accepted' })).toBe(1);
    expect(await value('mediaferry_client_uploads_total', { status: 'made-up' })).toBeUndefined();

    // A flushed Redis restarts the totals: the exported counter does not go back.
    await redis.flushall();
    replicaA.status('completed');
    await redis.ping();
    expect(await value('mediaferry_client_uploads_total', { status: 'completed' })).toBe(3);
  });
});
