import { loadConfigOrExit } from '@mediaferry/config';
import { closeRedis, createRedis, createUploadQueue, JobEventBus, JobStore } from '@mediaferry/queue';
import { assertSourceAllowed, closeSourcePolicy, sourcePolicyFromConfig } from '@mediaferry/sources';
import { createLogger } from '@mediaferry/telemetry';
import { WebhookDispatcher } from '@mediaferry/webhooks';
import { buildApi } from './build-api.js';
import { installProcessGuards } from './process-guards.js';
import { createRequestLogger, TurnBatchedWriter } from './request-log.js';

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
  installProcessGuards(logger);
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
    options: { rateLimitMax: config.apiRateLimit.max, rateLimitWindowMs: config.apiRateLimit.windowMs },
  });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    void (async () => {
      logger.info({ signal }, 'shutting down');
      const steps = [
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
      process.exit(0);
    })();
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));

  await app.listen({ port: config.apiPort, host: config.bindHost });
}

main().catch((err: unknown) => {
  process.stderr.write(`api failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
