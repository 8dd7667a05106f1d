import { type JobSpec, type JobSpecInput, jobSpecSchema } from '@mediaferry/core';
import { type RedisServer, startRedisServer } from '@mediaferry/testkit';
import { afterAll, beforeAll } from 'vitest';
import type { RedisClient } from '../redis-connection.js';
import { closeRedis, createRedis, type RedisRole } from '../redis-connection.js';

/** A valid spec (file source) with overrides. */
export function makeSpec(overrides: Partial<JobSpecInput> = {}): JobSpec {
  return jobSpecSchema.parse({
    source: { type: 'file', path: '/srv/media/a.mp4' },
    media: { type: 'video', title: 'A' },
    ...overrides,
  });
}

/**
 * Starts a private redis-server for the calling test file and hands out connections to it,
 * all closed after the file's tests. Each caller gets a fresh key prefix so tests never share keys.
 */
export function useRedis() {
  let server: RedisServer | undefined;
  const connections: RedisClient[] = [];
  let counter = 0;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    for (const c of connections) await closeRedis(c);
    await server?.stop();
  });
  return {
    get server(): RedisServer {
      if (!server) throw new Error('redis-server not started yet');
      return server;
    },
    /** A connection of the given role, closed after the file. Waits until it is ready. */
    async connect(role: RedisRole = 'client'): Promise<RedisClient> {
      const redis = createRedis(this.server.url, { role, lazyConnect: true });
      connections.push(redis);
      await redis.connect();
      return redis;
    },
    prefix(): string {
      counter += 1;
      return `t${process.pid}x${counter}`;
    },
  };
}
