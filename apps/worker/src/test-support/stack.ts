import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Config, loadConfig } from '@mediaferry/config';
import { type JobSpecInput, jobSpecSchema } from '@mediaferry/core';
import { crc64 } from '@mediaferry/crc64';
import { type Emulator, startEmulator } from '@mediaferry/emulator';
import {
  closeRedis,
  createRedis,
  createUploadQueue,
  enqueueUploads,
  isTerminal,
  JobEventBus,
  type JobRecord,
  JobStore,
  type RedisClient,
  type UploadJobOptionsInput,
  type UploadQueues,
  waitForRedisReady,
} from '@mediaferry/queue';
import { makeTempDir, type RedisServer, startRedisServer, type TempDir } from '@mediaferry/testkit';

export const KiB = 1024;

/** Redis, the emulator, a media dir, and the environment a worker process gets. */
export interface Stack {
  redisServer: RedisServer;
  emulator: Emulator;
  media: TempDir;
  env: Record<string, string>;
  config: Config;
  /** A client-role connection for the test's own reads. */
  redis: RedisClient;
  store: JobStore;
  queue: UploadQueues;
  events: JobEventBus;
  /** Writes a random file under the media dir and submits a job for it. */
  submitFile(
    name: string,
    size: number,
    spec?: Partial<JobSpecInput>,
  ): Promise<{ record: JobRecord; crc64: string }>;
  /** Resolves with the record once its status is one of `statuses` (terminal by default). */
  waitFor(id: string, accept?: (r: JobRecord) => boolean): Promise<JobRecord>;
  close(): Promise<void>;
}

export interface StackOptions {
  /** Extra env for the worker (wins). */
  env?: Record<string, string>;
  jobOptions?: UploadJobOptionsInput;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const redisServer = await startRedisServer();
  const emulator = await startEmulator({ ossSignatures: 'v4-only' });
  const media = await makeTempDir('mf-worker-media-');
  const prefix = `mfw${randomBytes(3).toString('hex')}`;
  const env: Record<string, string> = {
    REDIS_URL: redisServer.url,
    MEDIAFERRY_REDIS_PREFIX: prefix,
    MEDIAFERRY_FILE_ROOTS: media.path,
    MEDIAFERRY_URL_ALLOW_PRIVATE: 'true',
    MEDIAFERRY_WEBHOOK_SECRETS: 'svc:whsec-test',
    VOD_ENDPOINT: emulator.url,
    VOD_REGION: emulator.region,
    EMULATOR_ACCESS_KEY_ID: emulator.accessKeyId,
    EMULATOR_ACCESS_KEY_SECRET: emulator.accessKeySecret,
    UPLOAD_PART_SIZE: String(128 * KiB),
    UPLOAD_PART_PARALLELISM: '2',
    WORKER_CONCURRENCY: '2',
    WORKER_SHUTDOWN_GRACE_MS: '5000',
    BIND_HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    ...options.env,
  };
  const config = loadConfig(env);
  const redis = createRedis(redisServer.url, { role: 'client', maxReconnectDelayMs: 200 });
  const subscriber = createRedis(redisServer.url, { role: 'subscriber', maxReconnectDelayMs: 200 });
  await waitForRedisReady(redis);
  await waitForRedisReady(subscriber);
  const store = new JobStore(redis, { prefix });
  const events = new JobEventBus(subscriber, store.keys);
  const queue = createUploadQueue(redis, {
    prefix,
    jobOptions: options.jobOptions ?? { backoffDelayMs: 200 },
  });
  queue.on('error', () => {});

  const waitFor: Stack['waitFor'] = async (id, accept = (r) => isTerminal(r.status)) => {
    let wake: () => void = () => {};
    const off = await events.subscribeJob(id, () => wake());
    try {
      for (;;) {
        const changed = new Promise<void>((r) => {
          wake = r;
        });
        const record = await store.get(id);
        if (record && accept(record)) return record;
        await Promise.race([changed, new Promise((r) => setTimeout(r, 500))]);
      }
    } finally {
      await off();
    }
  };

  return {
    redisServer,
    emulator,
    media,
    env,
    config,
    redis,
    store,
    queue,
    events,
    async submitFile(name, size, spec = {}) {
      const data = randomBytes(size);
      const file = path.join(media.path, name);
      await writeFile(file, data);
      const parsed = jobSpecSchema.parse({
        source: { type: 'file', path: file },
        media: { type: 'video', title: name },
        ...spec,
      });
      const created = await store.create({ service: 'svc', spec: parsed });
      await enqueueUploads(queue, [created.record]);
      return { record: created.record, crc64: crc64(data).toString() };
    },
    waitFor,
    async close() {
      await queue.close().catch(() => {});
      await events.close();
      await closeRedis(redis);
      await emulator.close();
      await redisServer.stop();
      await media.remove();
    },
  };
}
