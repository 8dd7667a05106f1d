import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { VodClient } from '@mediaferry/aliyun';
import { ClientUploadService, ClientUploadStore, VodMediaApi } from '@mediaferry/client-uploads';
import type { JobView } from '@mediaferry/core';
import {
  closeRedis,
  createRedis,
  createUploadQueue,
  JobEventBus,
  JobStore,
  type UploadJobData,
  waitForRedisReady,
} from '@mediaferry/queue';
import { assertSourceAllowed, type SourcePolicy } from '@mediaferry/sources';
import { createLogger } from '@mediaferry/telemetry';
import { makeTempDir, type RedisServer, startRedisServer, type TempDir } from '@mediaferry/testkit';
import { WebhookDispatcher } from '@mediaferry/webhooks';
import type { Queue } from 'bullmq';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { type ApiOptions, buildApi } from '../build-api.js';
import type { SourceCheck } from '../jobs.service.js';

export const TOKENS = { a: 'token-aaaaaaaaaaaaaaaa', b: 'token-bbbbbbbbbbbbbbbb' } as const;
export const auth = (who: keyof typeof TOKENS = 'a') => ({ authorization: `Bearer ${TOKENS[who]}` });

/** Public-looking address for every host name, so URL sources pass the SSRF policy without DNS. */
export const PUBLIC_ADDRESS = '93.184.216.34';

export interface ApiFixture {
  app: FastifyInstance;
  redisServer: RedisServer;
  redis: Redis;
  /** The subscriber connection of the API's event bus. */
  subscriber: Redis;
  events: JobEventBus;
  store: JobStore;
  queue: Queue<UploadJobData, unknown, string>;
  webhooks: WebhookDispatcher;
  media: TempDir;
  /** An existing file under the allowed root. */
  filePath: string;
  /** Every log line the API wrote. */
  logs: string[];
  request(options: InjectOptions): Promise<LightMyRequestResponse>;
  /** POST /v1/jobs as service `a` (or `who`). */
  createJob(
    body: unknown,
    who?: keyof typeof TOKENS,
    headers?: Record<string, string>,
  ): Promise<LightMyRequestResponse>;
}

/**
 * The real API on a private redis-server, with a temp dir as the only file root. Built once per
 * test file; everything it started is stopped after the file.
 */
export interface ApiFixtureOptions {
  /** Builds the API's event bus (a subclass, to observe it). @defaultValue `new JobEventBus(...)` */
  makeEvents?: (subscriber: Redis, keys: JobStore['keys']) => JobEventBus;
  /** Wraps the real source check (to observe it, or to make one hang). @defaultValue none */
  wrapCheckSource?: (check: SourceCheck) => SourceCheck;
}

export function useApi(options: ApiOptions = {}, fixtureOptions: ApiFixtureOptions = {}): ApiFixture {
  const fixture = {} as ApiFixture;
  const connections: Redis[] = [];
  let events: JobEventBus | undefined;
  beforeAll(async () => {
    fixture.logs = [];
    fixture.redisServer = await startRedisServer();
    fixture.media = await makeTempDir('mf-api-media-');
    fixture.filePath = path.join(fixture.media.path, 'a.mp4');
    await writeFile(fixture.filePath, Buffer.alloc(1024, 1));
    const url = fixture.redisServer.url;
    // As main.ts makes it: auto-pipelined.
    fixture.redis = createRedis(url, { role: 'client', maxReconnectDelayMs: 200, autoPipelining: true });
    const subscriber = createRedis(url, { role: 'subscriber', maxReconnectDelayMs: 200 });
    connections.push(fixture.redis, subscriber);
    await waitForRedisReady(fixture.redis);
    await waitForRedisReady(subscriber);
    const prefix = 'mfapi';
    fixture.store = new JobStore(fixture.redis, { prefix });
    events = (fixtureOptions.makeEvents ?? ((s, k) => new JobEventBus(s, k)))(subscriber, fixture.store.keys);
    fixture.subscriber = subscriber;
    fixture.events = events;
    fixture.queue = createUploadQueue(fixture.redis, { prefix });
    fixture.queue.on('error', () => {});
    fixture.webhooks = new WebhookDispatcher({ connection: fixture.redis, prefix });
    const policy: SourcePolicy = {
      fileRoots: [fixture.media.path],
      allowPrivate: false,
      maxUrlBytes: 1024 ** 3,
      lookup: async (host) => [
        { address: host === 'internal.test' ? '10.0.0.5' : PUBLIC_ADDRESS, family: 4 },
      ],
    };
    const logger = createLogger({
      name: 'api-test',
      level: 'info',
      destination: new Writable({
        write(chunk, _enc, cb) {
          fixture.logs.push(String(chunk));
          cb();
        },
      }),
    });
    fixture.app = await buildApi({
      config: {
        apiTokens: new Map([
          [TOKENS.a, 'svc-a'],
          [TOKENS.b, 'svc-b'],
        ]),
        webhookSecrets: new Map([['svc-a', 'whsec-aaaa']]),
        redisPrefix: prefix,
      },
      redis: fixture.redis,
      queue: fixture.queue,
      store: fixture.store,
      events,
      logger,
      checkSource: (fixtureOptions.wrapCheckSource ?? ((check) => check))((source, signal) =>
        assertSourceAllowed(source, policy, signal),
      ),
      webhooks: fixture.webhooks,
      // Served as in production (the routes are documented); VOD is not reachable here, nothing calls it.
      clientUploads: {
        service: new ClientUploadService({
          store: new ClientUploadStore(fixture.redis, { prefix }),
          vod: new VodMediaApi(
            new VodClient({
              endpoint: 'http://127.0.0.1:9',
              regionId: 'cn-shanghai',
              accessKeyId: 'ak',
              accessKeySecret: 'sk',
            }),
          ),
          policies: new Map(),
          logger,
        }),
        ticketSecret: 'fixture-ticket-secret-0123456789abcdef',
        vodEvents: {
          callbackUrl: 'https://api.test/v1/vod/events',
          keys: ['fixture-key'],
          maxAgeSeconds: 300,
        },
      },
      options,
    });
    fixture.request = (o) => fixture.app.inject(o);
    fixture.createJob = (body, who = 'a', headers = {}) =>
      fixture.app.inject({
        method: 'POST',
        url: '/v1/jobs',
        headers: { ...auth(who), ...headers },
        payload: body as object,
      });
  });
  afterAll(async () => {
    await fixture.app?.close();
    await fixture.queue?.close().catch(() => {});
    await fixture.webhooks?.close().catch(() => {});
    await events?.close();
    for (const c of connections) await closeRedis(c);
    await fixture.redisServer?.stop();
    await fixture.media?.remove();
  });
  return fixture;
}

/** A valid file job body for the fixture's file. */
export function fileJob(fixture: ApiFixture, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    source: { type: 'file', path: fixture.filePath },
    media: { type: 'video', title: 'A' },
    ...extra,
  };
}

export function view(response: LightMyRequestResponse): JobView {
  return response.json() as JobView;
}
