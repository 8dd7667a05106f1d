import { Writable } from 'node:stream';
import { VodClient } from '@mediaferry/aliyun';
import {
  type ClientUploadPolicy,
  ClientUploadService,
  ClientUploadStore,
  type ClientUploadView,
  VodMediaApi,
} from '@mediaferry/client-uploads';
import { clientUploadPolicySchema } from '@mediaferry/config';
import { type Emulator, startEmulator } from '@mediaferry/emulator';
import type { RedisClient as Redis } from '@mediaferry/queue';
import {
  closeRedis,
  createRedis,
  createUploadQueue,
  JobEventBus,
  JobStore,
  waitForRedisReady,
} from '@mediaferry/queue';
import { createLogger } from '@mediaferry/telemetry';
import { freePort, type RedisServer, startRedisServer } from '@mediaferry/testkit';
import { WebhookDispatcher } from '@mediaferry/webhooks';
import OSS from 'ali-oss';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import { buildApi } from '../build-api.js';

export const CU_TOKENS = { a: 'cu-token-aaaaaaaaaaaa', b: 'cu-token-bbbbbbbbbbbb' } as const;
export const TICKET_SECRET = 'ticket-secret-0123456789abcdef0123456789';
export const CALLBACK_KEYS = ['vod-callback-key-new', 'vod-callback-key-old'] as const;
export const PREFIX = 'mfcu';

export interface ClientUploadFixture {
  redisServer: RedisServer;
  redis: Redis;
  emulator: Emulator;
  /** Two API "replicas" on the same Redis and VOD; [0] listens on `url` and gets VOD's callbacks. */
  apps: FastifyInstance[];
  url: string;
  callbackUrl: string;
  store: ClientUploadStore;
  vod: VodMediaApi;
  webhooks: WebhookDispatcher;
  logs: string[];
  /** A service without VOD callbacks (reconciler tests), with its own clock offset. */
  quietService(offsetMs?: number): ClientUploadService;
}

/** svc-a: small limits that the tests probe; svc-b: the defaults. */
export const POLICY_A: ClientUploadPolicy = clientUploadPolicySchema.parse({
  maxBytes: 4 * 1024 * 1024,
  mediaTypes: ['video', 'image', 'attached'],
  extensions: ['mp4', 'png', 'vtt'],
  maxOpenPerEndUser: 3,
  requestsPerMinute: 1000,
});

export function useClientUploadSystem(): ClientUploadFixture {
  const f = { logs: [] as string[], apps: [] as FastifyInstance[] } as ClientUploadFixture;
  const closers: (() => Promise<unknown>)[] = [];
  beforeAll(async () => {
    f.redisServer = await startRedisServer();
    closers.push(() => f.redisServer.stop());
    const port = await freePort();
    f.url = `http://127.0.0.1:${port}`;
    f.callbackUrl = `${f.url}/v1/vod/events`;
    f.emulator = await startEmulator({ callbackPrivateKey: CALLBACK_KEYS[0] });
    closers.unshift(() => f.emulator.close());
    const logger = createLogger({
      name: 'cu-test',
      level: 'debug',
      destination: new Writable({
        write(chunk, _enc, cb) {
          f.logs.push(String(chunk));
          cb();
        },
      }),
    });
    const vodClient = new VodClient({
      endpoint: f.emulator.url,
      regionId: f.emulator.region,
      accessKeyId: f.emulator.accessKeyId,
      accessKeySecret: f.emulator.accessKeySecret,
    });
    f.vod = new VodMediaApi(vodClient);
    const policies = new Map([['svc-a', POLICY_A]]);
    for (let i = 0; i < 2; i++) {
      const redis = createRedis(f.redisServer.url, { role: 'client', maxReconnectDelayMs: 200 });
      const subscriber = createRedis(f.redisServer.url, { role: 'subscriber', maxReconnectDelayMs: 200 });
      await waitForRedisReady(redis);
      closers.unshift(
        () => closeRedis(redis),
        () => closeRedis(subscriber),
      );
      if (i === 0) f.redis = redis;
      const jobs = new JobStore(redis, { prefix: PREFIX });
      const queue = createUploadQueue(redis, { prefix: PREFIX });
      queue.on('error', () => {});
      const webhooks = new WebhookDispatcher({ connection: redis, prefix: PREFIX });
      closers.unshift(
        () => queue.close(),
        () => webhooks.close(),
      );
      if (i === 0) f.webhooks = webhooks;
      const store = new ClientUploadStore(redis, { prefix: PREFIX });
      if (i === 0) f.store = store;
      const service = new ClientUploadService({
        store,
        vod: f.vod,
        policies,
        vodCallbackUrl: f.callbackUrl,
        logger,
        notify: async (event, clientUpload: ClientUploadView) => {
          if (clientUpload.callbackUrl) {
            await webhooks.enqueueClientUpload({
              service: clientUpload.service,
              callbackUrl: clientUpload.callbackUrl,
              event,
              clientUpload,
            });
          }
        },
      });
      const app = await buildApi({
        config: {
          apiTokens: new Map([
            [CU_TOKENS.a, 'svc-a'],
            [CU_TOKENS.b, 'svc-b'],
          ]),
          webhookSecrets: new Map([['svc-a', 'whsec-aaaa']]),
          redisPrefix: PREFIX,
        },
        redis,
        queue,
        store: jobs,
        events: new JobEventBus(subscriber, jobs.keys),
        logger,
        checkSource: async () => {},
        clientUploads: {
          service,
          ticketSecret: TICKET_SECRET,
          vodEvents: { callbackUrl: f.callbackUrl, keys: CALLBACK_KEYS, maxAgeSeconds: 300 },
        },
      });
      closers.unshift(() => app.close());
      if (i === 0) await app.listen({ port, host: '127.0.0.1' });
      f.apps.push(app);
    }
    f.quietService = (offsetMs = 0) =>
      new ClientUploadService({
        store: new ClientUploadStore(f.redis, { prefix: PREFIX, now: () => Date.now() + offsetMs }),
        vod: f.vod,
        policies,
        logger,
      });
  });
  afterAll(async () => {
    for (const close of closers) await close().catch(() => undefined);
  });
  return f;
}

/** ali-oss built only from the `oss` block a create/refresh answered. */
export function ossFor(view: ClientUploadView): OSS {
  const o = view.oss;
  if (!o) throw new Error('no credentials in this view');
  return new OSS({
    endpoint: o.endpoint,
    bucket: o.bucket,
    region: o.region,
    accessKeyId: o.accessKeyId,
    accessKeySecret: o.accessKeySecret,
    stsToken: o.securityToken,
    // Signature V4, as OSS requires of buckets created since 2025-09-01; the region scopes it.
    authorizationV4: true,
  });
}

export const bearer = (who: keyof typeof CU_TOKENS = 'a') => ({ authorization: `Bearer ${CU_TOKENS[who]}` });
