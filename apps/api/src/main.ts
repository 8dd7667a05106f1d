import { VodClient } from '@mediaferry/aliyun';
import {
  ClientUploadCounts,
  ClientUploadReconciler,
  ClientUploadService,
  ClientUploadStore,
  VodMediaApi,
} from '@mediaferry/client-uploads';
import { loadConfigOrExit, vodStartupFields } from '@mediaferry/config';
import { closeRedis, createRedis, createUploadQueue, JobEventBus, JobStore } from '@mediaferry/queue';
import { assertSourceAllowed, closeSourcePolicy, sourcePolicyFromConfig } from '@mediaferry/sources';
import { createLogger, installProcessGuards } from '@mediaferry/telemetry';
import { WebhookDispatcher } from '@mediaferry/webhooks';
import { buildApi } from './build-api.js';
import { createRequestLogger, TurnBatchedWriter } from './request-log.js';

/** How long a fault waits for requests in flight and webhooks before the process exits anyway. */
const API_FAULT_GRACE_MS = 10_000;

/** `node apps/api/dist/main.js`: configured by the environment only (CONTRACT §4). */
async function main(): Promise<void> {
  const config = loadConfigOrExit(process.env);
  if (config.apiTokens.size === 0) {
    process.stderr.write(
      'Invalid configuration:\n  MEDIAFERRY_API_TOKENS: set at least one service:token pair\n',
    );
    process.exit(78);
  }
  const logger = createLogger({ name: 'api', level: config.logLevel });
  logger.info(vodStartupFields(config), 'VOD endpoint');
  let stop: () => Promise<void> = async () => {};
  installProcessGuards({ logger, shutdown: () => stop(), graceMs: API_FAULT_GRACE_MS });
  // Request lines: lean, written once per event-loop turn and on exit (see request-log.ts).
  const requestLines = new TurnBatchedWriter(1);
  process.on('exit', () => requestLines.flushSync());
  const requestLogger = createRequestLogger({ level: config.logLevel, destination: requestLines });
  // Auto-pipelining: the Redis commands of the many requests in flight share writes and reads.
  const redis = createRedis(config.redis, {
    role: 'client',
    logger,
    connectionName: 'mediaferry-api',
    autoPipelining: true,
  });
  const subscriber = createRedis(config.redis, {
    role: 'subscriber',
    logger,
    connectionName: 'mediaferry-api-sub',
  });
  const store = new JobStore(redis, { prefix: config.redisPrefix });
  const events = new JobEventBus(subscriber, store.keys, logger);
  const queue = createUploadQueue(redis, { prefix: config.redisPrefix, shards: config.queueShards });
  queue.on('error', (err) => logger.warn({ err }, 'queue error'));
  const policy = sourcePolicyFromConfig(config);
  const webhooks = new WebhookDispatcher({
    connection: redis,
    prefix: store.keys.webhookQueuePrefix(),
    logger,
  });

  const cu = config.clientUploads;
  const counts = new ClientUploadCounts(redis, config.redisPrefix);
  const clientUploads = new ClientUploadService({
    store: new ClientUploadStore(redis, { prefix: config.redisPrefix }),
    vod: new VodMediaApi(
      new VodClient({
        endpoint: config.vod.endpoint,
        regionId: config.vod.region,
        accessKeyId: config.vod.accessKeyId,
        accessKeySecret: config.vod.accessKeySecret,
      }),
    ),
    policies: cu.policies,
    vodCallbackUrl: cu.vodCallbackUrl,
    logger,
    onStatus: (status) => counts.status(status),
    notify: async (event, clientUpload) => {
      if (!clientUpload.callbackUrl) return;
      await webhooks.enqueueClientUpload({
        service: clientUpload.service,
        callbackUrl: clientUpload.callbackUrl,
        event,
        clientUpload,
      });
    },
  });
  const reconciler = new ClientUploadReconciler(clientUploads, {
    services: () => new Set(config.apiTokens.values()),
    intervalMs: cu.reconcileIntervalMs,
    logger,
  });

  const app = await buildApi({
    config,
    redis,
    queue,
    store,
    events,
    logger,
    requestLogger,
    checkSource: (source, signal) => assertSourceAllowed(source, policy, signal),
    webhooks,
    clientUploads: {
      service: clientUploads,
      ticketSecret: cu.ticketSecret,
      vodEvents: cu.vodCallbackUrl
        ? {
            callbackUrl: cu.vodCallbackUrl,
            keys: cu.vodCallbackKeys,
            maxAgeSeconds: cu.vodCallbackMaxAgeSeconds,
          }
        : undefined,
      onVodEvent: (type, result) => counts.vodEvent(type, result),
    },
    options: { rateLimitMax: config.apiRateLimit.max, rateLimitWindowMs: config.apiRateLimit.windowMs },
  });

  // Stops accepting, lets requests in flight finish, closes connections; cached, so a fault during a
  // SIGTERM shutdown (or the reverse) runs it once.
  let stopping: Promise<void> | undefined;
  stop = () => {
    stopping ??= (async () => {
      const steps = [
        () => reconciler.close(),
        () => app.close(),
        () => queue.close(),
        () => webhooks.close(),
        () => events.close(),
        () => closeRedis(redis),
        () => closeSourcePolicy(policy),
      ];
      for (const step of steps) {
        try {
          await step();
        } catch (err) {
          logger.warn({ err }, 'shutdown step failed');
        }
      }
      logger.info('stopped');
    })();
    return stopping;
  };
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    void stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));

  await app.listen({ port: config.apiPort, host: config.bindHost });
  reconciler.start();
}

main().catch((err: unknown) => {
  process.stderr.write(`api failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
