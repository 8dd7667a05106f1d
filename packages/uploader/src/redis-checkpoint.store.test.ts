import { type RedisServer, startRedisServer } from '@mediaferry/testkit';
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
