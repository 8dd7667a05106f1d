import { AbortError } from '@mediaferry/core';
import { type RedisServer, startRedisServer } from '@mediaferry/testkit';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisCheckpointStore } from './redis-checkpoint.store.js';
import { EngineFixture, MiB, md5 } from './test-support/engine-fixture.js';
import { UploadEngine } from './upload-engine.js';

/** Redis (the checkpoint store) going away mid-upload (review F6). */
let fx: EngineFixture;
let redis: RedisServer;
const clients: Redis[] = [];
beforeAll(async () => {
  fx = await EngineFixture.start();
  redis = await startRedisServer({ appendOnly: true });
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await redis.stop();
  await fx.close();
});
afterEach(() => fx.emu.admin.resetFaults());

/** The connection the worker uses for its checkpoints: it queues commands while Redis is down. */
function workerRoleStore(): RedisCheckpointStore {
  const c = new Redis(redis.url, { maxRetriesPerRequest: null, enableOfflineQueue: true });
  c.on('error', () => {});
  clients.push(c);
  return new RedisCheckpointStore({ redis: c });
}

function engine(onPartUploaded: () => void): UploadEngine {
  return new UploadEngine({
    checkpoints: workerRoleStore(),
    partSize: 128 * 1024,
    parallelism: 3,
    backoff: { baseMs: 5, maxMs: 50 },
    events: { onPartUploaded },
  });
}

describe('UploadEngine while Redis is down', () => {
  it('an aborted run settles at once with AbortError although Redis is unreachable', async () => {
    const file = await fx.writeFile(4 * MiB);
    await fx.emu.admin.delayResponses({ ms: 20, operation: 'UploadPart' });
    let killed: Promise<void> | undefined;
    const ac = new AbortController();
    const run = engine(() => {
      killed ??= redis.kill();
    }).run({
      uploadKey: 'job-redis-down',
      source: fx.fileSource(file.path),
      target: fx.ossTarget(),
      signal: ac.signal,
    });
    run.catch(() => {});
    while (!killed) await new Promise((r) => setTimeout(r, 10));
    await killed;
    // Every loop is now stuck recording its part in a queue that waits for Redis.
    await new Promise((r) => setTimeout(r, 200));
    ac.abort(new Error('worker shutting down'));
    const timeout = new Promise((r) => setTimeout(() => r('still pending'), 3000));
    const outcome = await Promise.race([
      run.then(
        () => 'succeeded',
        (e: unknown) => e,
      ),
      timeout,
    ]);
    await redis.restart(); // the queued commands drain
    expect(outcome).toBeInstanceOf(AbortError);
  });

  it('a run survives a Redis kill + restart with AOF (the queued commands replay)', async () => {
    const file = await fx.writeFile(4 * MiB);
    await fx.emu.admin.delayResponses({ ms: 20, operation: 'UploadPart' });
    let parts = 0;
    let bounce: Promise<void> | undefined;
    const result = await engine(() => {
      if (++parts === 5) bounce = redis.restart();
    }).run({ uploadKey: 'job-redis-bounce', source: fx.fileSource(file.path), target: fx.ossTarget() });
    await bounce;
    const back = await fx.readBack(result.destination.bucket, result.destination.objectKey);
    expect(back.md5).toBe(md5(file.data));
  });
});
