import { loadConfigOrExit, vodStartupFields } from '@mediaferry/config';
import { closeRedis, createRedis, pingRedis } from '@mediaferry/queue';
import { closeSourcePolicy, sourcePolicyFromConfig } from '@mediaferry/sources';
import {
  createLogger,
  createWorkerMetrics,
  installProcessGuards,
  startMetricsServer,
} from '@mediaferry/telemetry';
import { buildWorker } from './build-worker.js';
import { targetDepsFromConfig } from './target-deps.js';

/** `node apps/worker/dist/main.js`: configured by the environment only (CONTRACT §4). */
async function main(): Promise<void> {
  const config = loadConfigOrExit(process.env);
  const logger = createLogger({ name: 'worker', level: config.logLevel });
  logger.info(vodStartupFields(config), 'VOD endpoint');
  // Until the worker exists there is nothing to hand back: a fault just exits non-zero.
  let stop: () => Promise<void> = async () => {};
  installProcessGuards({
    logger,
    shutdown: () => stop(),
    graceMs: config.worker.shutdownGraceMs + 2000,
  });
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

  // Hands running jobs back (bounded by the grace period) and closes everything; cached, so a fault
  // during a SIGTERM shutdown (or the reverse) runs it once.
  let stopping: Promise<void> | undefined;
  stop = () => {
    stopping ??= (async () => {
      await worker.close();
      for (const step of [
        () => server.close(),
        () => closeRedis(redis),
        () => closeSourcePolicy(sourcePolicy),
      ]) {
        await step().catch((err: unknown) => logger.warn({ err }, 'shutdown step failed'));
      }
    })();
    return stopping;
  };
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    // Whatever happens below, exit within the grace period (plus a little for the last steps).
    setTimeout(() => process.exit(0), config.worker.shutdownGraceMs + 2000).unref();
    void stop().then(() => process.exit(0));
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
