import type { Config } from '@mediaferry/config';
import { type Logger, type MetricsServer, startMetricsServer } from '@mediaferry/telemetry';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { ClientUploadCounters } from './client-upload-counters.js';
import { createQueueMetrics, type QueueMetrics } from './queue-metrics.js';
import { deploymentQueues, type WatchedQueue } from './watched-queues.js';

export interface MetricsApp {
  readonly server: MetricsServer;
  readonly queueMetrics: QueueMetrics;
  /** Stops serving, then closes Redis. Safe to call twice. */
  close(): Promise<void>;
}

export interface MetricsAppOptions {
  config: Pick<Config, 'redisUrl' | 'redisPrefix' | 'metricsPort' | 'bindHost'> &
    Partial<Pick<Config, 'redis' | 'queueShards'>>;
  logger?: Logger;
  /** @defaultValue every upload shard and the webhook queue (`deploymentQueues`) */
  queues?: readonly (string | WatchedQueue)[];
  /** @defaultValue 2000 */
  collectTimeoutMs?: number;
}

/**
 * The metrics service: queue-level metrics on `/metrics`, `/healthz` and `/readyz`. Both probes
 * answer 200 while Redis is down on purpose: restarting this process or hiding it from Prometheus
 * would not bring Redis back, and `mediaferry_queue_redis_up 0` is exactly what should be scraped.
 */
export async function startMetricsApp(options: MetricsAppOptions): Promise<MetricsApp> {
  const { config, logger } = options;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const queues = options.queues ?? deploymentQueues(config.redisPrefix, config.queueShards ?? 1);
  const queueMetrics = createQueueMetrics({
    redis: config.redis ?? config.redisUrl,
    prefix: config.redisPrefix,
    queues,
    registry,
    logger,
    collectTimeoutMs: options.collectTimeoutMs,
  });
  const clientUploads = new ClientUploadCounters({
    redisUrl: config.redisUrl,
    prefix: config.redisPrefix,
    registry,
    logger,
    collectTimeoutMs: options.collectTimeoutMs,
  });
  let stopping = false;
  let server: MetricsServer;
  try {
    server = await startMetricsServer({
      port: config.metricsPort,
      host: config.bindHost,
      registry,
      health: () => true,
      ready: () => !stopping,
    });
  } catch (err) {
    await queueMetrics.close();
    await clientUploads.close();
    throw err;
  }
  logger?.info({ port: server.port, queues }, 'metrics service listening');
  let closing: Promise<void> | undefined;
  return {
    server,
    queueMetrics,
    close: () => {
      closing ??= (async () => {
        stopping = true;
        await server.close();
        await queueMetrics.close();
        await clientUploads.close();
      })();
      return closing;
    },
  };
}
