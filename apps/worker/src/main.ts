import { loadConfigOrExit } from '@mediaferry/config';
import { closeRedis, createRedis, pingRedis } from '@mediaferry/queue';
import { closeSourcePolicy, sourcePolicyFromConfig } from '@mediaferry/sources';
import { createLogger, createWorkerMetrics, startMetricsServer } from '@mediaferry/telemetry';
import { buildWorker } from './build-worker.js';
import { installProcessGuards } from './process-guards.js';
import { targetDepsFromConfig } from './target-deps.js';

/** `node apps/worker/dist/main.js`: configured by the environment only (CONTRACT §4). */
async function main(): Promise<void> {
  const config = loadConfigOrExit(process.env);
  const logger = createLogger({ name: 'worker', level: config.logLevel });
  installProcessGuards(logger);
  const redis = createRedis(config.redis, { role: 'worker', logger, connectionName: 'mediaferry-worker' });
  const subscriber = createRedis(config.redis, {
    role: 'subscriber',
    logger,
    connectionName: 'mediaferry-worker-sub',
  });
  const metrics = createWorkerMetrics();
  const sourcePolicy = sourcePolicyFromConfig(config);
  const worker = buildWorker({
    config,
    redis,
    subscriber,
    logger,
    metrics,
    sourcePolicy,
    targetDeps: targetDepsFromConfig(config),
  });
  const server = await startMetricsServer({
    port: config.worker.metricsPort,
    host: config.bindHost,
    registry: metrics.registry,
    health: () => !worker.closing,
    ready: () => pingRedis(redis),
  });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // Whatever happens below, exit within the grace period (plus a little for the last steps).
    setTimeout(() => process.exit(0), config.worker.shutdownGraceMs + 2000).unref();
    void (async () => {
      await worker.close();
      for (const step of [
        () => server.close(),
        () => closeRedis(redis),
        () => closeSourcePolicy(sourcePolicy),
      ]) {
        await step().catch((err: unknown) => logger.warn({ err }, 'shutdown step failed'));
      }
      process.exit(0);
    })();
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));

  await worker.start();
  logger.info({ concurrency: worker.options.concurrency, metricsPort: server.port }, 'worker started');
}

main().catch((err: unknown) => {
  process.stderr.write(`worker failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
