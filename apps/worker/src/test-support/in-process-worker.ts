import { Writable } from 'node:stream';
import { closeRedis, createRedis, waitForRedisReady } from '@mediaferry/queue';
import { sourcePolicyFromConfig } from '@mediaferry/sources';
import { createLogger, createWorkerMetrics, type WorkerMetrics } from '@mediaferry/telemetry';
import { buildWorker, type UploadWorker } from '../build-worker.js';
import { targetDepsFromConfig } from '../target-deps.js';
import type { UploadWorkerOptions } from '../worker-options.js';
import type { Stack } from './stack.js';

export interface InProcessWorker {
  worker: UploadWorker;
  metrics: WorkerMetrics;
  logs: string[];
  /** One metric's value summed over the label sets that match `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

/** `buildWorker` wired exactly as `main.ts` does, on the stack's Redis and emulator. */
export async function startInProcessWorker(
  stack: Stack,
  options: UploadWorkerOptions = {},
): Promise<InProcessWorker> {
  const { config } = stack;
  const logs: string[] = [];
  const logger = createLogger({
    name: 'worker-test',
    level: 'debug',
    destination: new Writable({
      write(chunk, _enc, cb) {
        logs.push(String(chunk));
        cb();
      },
    }),
  });
  const redis = createRedis(config.redis, { role: 'worker', logger, maxReconnectDelayMs: 200 });
  const subscriber = createRedis(config.redis, { role: 'subscriber', logger, maxReconnectDelayMs: 200 });
  await waitForRedisReady(redis);
  const metrics = createWorkerMetrics(undefined, { defaultMetrics: false });
  const worker = buildWorker({
    config,
    redis,
    subscriber,
    logger,
    metrics,
    sourcePolicy: sourcePolicyFromConfig(config),
    targetDeps: targetDepsFromConfig(config),
    options: { runWebhookWorker: false, progressIntervalMs: 200, ...options },
  });
  await worker.start();
  return {
    worker,
    metrics,
    logs,
    async metric(name, labels = {}) {
      const found = (await metrics.registry.getSingleMetric(name)?.get())?.values ?? [];
      return found
        .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
        .reduce((sum, v) => sum + v.value, 0);
    },
    async close() {
      await worker.close();
      await closeRedis(redis);
    },
  };
}
