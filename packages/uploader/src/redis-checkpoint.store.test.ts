import { NetworkError } from '@mediaferry/core';
import { freePort, type RedisServer, startRedisServer } from '@mediaferry/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisCheckpointStore } from './redis-checkpoint.store.js';
import { checkpointStoreConformance, sampleState } from './test-support/checkpoint-store.conformance.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

checkpointStoreConformance('redis', async () => {
  const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  return { store: new RedisCheckpointStore({ redis }), teardown: async () => void redis.disconnect() };
});

describe('RedisCheckpointStore specifics', () => {
  it('expires idle checkpoints and refreshes the expiry on writes', async () => {
    const redis = new Redis(server.url);
    try {
      const store = new RedisCheckpointStore({ redis, prefix: 'ttl-test:', ttlSeconds: 100 });
      await store.create('k', 'a', sampleState());
      await redis.expire('ttl-test:k', 5);
      await store.update('k', 'a', { uploadId: 'U' });
      expect(await redis.ttl('ttl-test:k')).toBeGreaterThan(50);
    } finally {
      redis.disconnect();
    }
  });

  it('keeps an idle checkpoint 15 days by default (at least as long as a failed job can be retried)', async () => {
    const redis = new Redis(server.url);
    try {
      await new RedisCheckpointStore({ redis, prefix: 'ttl-default:' }).create('k', 'a', sampleState());
      expect(await redis.ttl('ttl-default:k')).toBeGreaterThan(15 * 24 * 3600 - 60);
    } finally {
      redis.disconnect();
    }
  });

  it('fails with a retryable NetworkError while Redis is unreachable', async () => {
    const redis = new Redis(`redis://127.0.0.1:${await freePort()}`, {
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      lazyConnect: true,
    });
    redis.on('error', () => {});
    try {
      const err = await new RedisCheckpointStore({ redis }).get('k').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NetworkError);
      expect((err as NetworkError).retryable).toBe(true);
    } finally {
      redis.disconnect();
    }
  });

  it('shares checkpoints between clients (another worker resumes)', async () => {
    const a = new Redis(server.url);
    const b = new Redis(server.url);
    try {
      const storeA = new RedisCheckpointStore({ redis: a });
      const storeB = new RedisCheckpointStore({ redis: b });
      await storeA.create('shared', 'a', sampleState({ uploadId: 'U9' }));
      const claimed = await storeB.claim('shared', 'b');
      expect(claimed?.uploadId).toBe('U9');
      await expect(storeA.assertOwner('shared', 'a')).rejects.toThrow(/claimed by another engine/);
      await storeB.delete('shared');
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });
});
