import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from './redis-server.js';

describe('startRedisServer', () => {
  let server: RedisServer | undefined;
  afterEach(async () => {
    await server?.stop();
  });

  it('starts a private server that survives kill + restart with AOF', async () => {
    server = await startRedisServer({ appendOnly: true });
    const redis = new Redis(server.url, { maxRetriesPerRequest: null, lazyConnect: true });
    await redis.connect();
    await redis.set('k', 'v');
    await new Promise((r) => setTimeout(r, 1200)); // appendfsync everysec
    await server.restart();
    await expect(redis.get('k')).resolves.toBe('v');
    redis.disconnect();
  });
});
