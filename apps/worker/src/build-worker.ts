import type { StorageTargetDeps } from '@mediaferry/aliyun';
import type { Config } from '@mediaferry/config';
import {
  JobEventBus,
  JobStore,
  QUEUE_NAMES,
  type RedisClient,
  StoreKeys,
  type Unsubscribe,
  type UploadJobData,
} from '@mediaferry/queue';
import type { SourcePolicy } from '@mediaferry/sources';
import type { Logger, WorkerMetrics } from '@mediaferry/telemetry';
import { type MemoryBudget, RedisCheckpointStore } from '@mediaferry/uploader';
import { startWebhookWorker, WebhookDispatcher, type WebhookWorker } from '@mediaferry/webhooks';
import { Worker } from 'bullmq';
import { workerMemoryBudget } from './memory-budget.js';
import { RunningJobs } from './running-jobs.js';
import { ShardSlots } from './shard-slots.js';
import { type UploadOutcome, UploadProcessor } from './upload-processor.js';
import type { ResolvedWorkerOptions, UploadWorkerOptions } from './worker-options.js';

export interface UploadWorkerDeps {
  config: Pick<
    Config,
    'redisPrefix' | 'webhookSecrets' | 'urlAllowPrivate' | 'maxUrlBytes' | 'worker' | 'upload'
  > &
    Partial<Pick<Config, 'queueShards'>>;
  /** A `createRedis(url, {role: 'worker'})` connection (BullMQ duplicates it for its blocking reads). */
  redis: RedisClient;
  /** A `createRedis(url, {role: 'subscriber'})` connection for cancel broadcasts; closed by `close()`. */
  subscriber: RedisClient;
  logger: Logger;
  metrics: WorkerMetrics;
  sourcePolicy: SourcePolicy;
  /** VOD client and OSS account for `createStorageTarget`. */
  targetDeps: StorageTargetDeps;
  options?: UploadWorkerOptions;
}

function resolve(deps: UploadWorkerDeps): ResolvedWorkerOptions {
  const o = deps.options ?? {};
  return {
    concurrency: o.concurrency ?? deps.config.worker.concurrency,
    lockDurationMs: o.lockDurationMs ?? deps.config.worker.lockDurationMs,
    stalledIntervalMs: o.stalledIntervalMs ?? deps.config.worker.stalledIntervalMs,
    maxStalledCount: o.maxStalledCount ?? deps.config.worker.maxStalledCount,
    shutdownGraceMs: o.shutdownGraceMs ?? deps.config.worker.shutdownGraceMs,
    progressIntervalMs: o.progressIntervalMs ?? 1000,
    runWebhookWorker: o.runWebhookWorker ?? true,
    checkpointPrefix: o.checkpointPrefix ?? new StoreKeys(deps.config.redisPrefix).checkpointPrefix(),
  };
}

/**
 * One worker process's job machinery: a BullMQ worker on each upload queue shard running the upload
 * engine, the cancel listener, the webhook sender and deliverer. Any number of these share one Redis.
 * Signals are handled by `main.ts`, which calls `close()` on SIGTERM.
 */
export class UploadWorker {
  /** One BullMQ worker per upload queue shard. */
  readonly workers: readonly Worker<UploadJobData, UploadOutcome, string>[];
  readonly store: JobStore;
  readonly running = new RunningJobs();
  readonly options: ResolvedWorkerOptions;
  /** The part buffers of all this worker's jobs (`WORKER_MEMORY_BUDGET_BYTES`). */
  readonly memory: MemoryBudget;
  readonly #deps: UploadWorkerDeps;
  readonly #events: JobEventBus;
  readonly #webhooks: WebhookDispatcher;
  #webhookWorker: WebhookWorker | undefined;
  #offCancel: Unsubscribe | undefined;
  #closing: Promise<void> | undefined;

  constructor(deps: UploadWorkerDeps) {
    this.#deps = deps;
    this.options = resolve(deps);
    const { config, redis, logger } = deps;
    const prefix = config.redisPrefix;
    this.memory = workerMemoryBudget(config);
    deps.metrics.watchBuffers(() => this.memory);
    this.store = new JobStore(redis, { prefix });
    this.#events = new JobEventBus(deps.subscriber, this.store.keys, logger);
    this.#webhooks = new WebhookDispatcher({
      connection: redis,
      prefix: this.store.keys.webhookQueuePrefix(),
      logger,
    });
    const processor = new UploadProcessor({
      store: this.store,
      checkpoints: new RedisCheckpointStore({ redis, prefix: this.options.checkpointPrefix }),
      sourcePolicy: deps.sourcePolicy,
      targetDeps: deps.targetDeps,
      metrics: deps.metrics,
      logger,
      running: this.running,
      webhooks: this.#webhooks,
      upload: { ...config.upload, maxSourceBytes: config.maxUrlBytes, memory: this.memory },
      progressIntervalMs: this.options.progressIntervalMs,
    });
    const shards = config.queueShards ?? 1;
    const slots = new ShardSlots(this.options.concurrency, shards);
    const initial = slots.concurrencies();
    this.workers = initial.map((concurrency, shard) => {
      const worker = new Worker<UploadJobData, UploadOutcome, string>(
        QUEUE_NAMES.uploads,
        slots.wrap(shard, processor.process),
        {
          connection: redis,
          prefix: this.store.keys.uploadQueuePrefix(shard),
          autorun: false,
          concurrency,
          lockDuration: this.options.lockDurationMs,
          stalledInterval: this.options.stalledIntervalMs,
          maxStalledCount: this.options.maxStalledCount,
        },
      );
      worker.on('error', (err) => logger.warn({ err, shard }, 'upload worker error'));
      worker.on('stalled', (jobId) =>
        logger.warn({ jobId, shard }, 'job stalled (its worker died?); back in the queue'),
      );
      // A lock we could not renew may already be another worker's: stop before touching anything.
      worker.on('lockRenewalFailed', (jobIds: string[]) => {
        for (const id of jobIds) this.running.stop(id, 'lock-lost');
      });
      // A job BullMQ failed for good (e.g. stalled too often) must not leave its record running.
      worker.on('failed', (job, err) => {
        if (!job?.finishedOn) return; // will be retried
        processor.settleFailed(job, err).catch((e: unknown) => {
          logger.warn({ err: e, jobId: job.id }, 'could not settle the record of a failed job');
        });
      });
      return worker;
    });
    slots.attach(this.workers);
  }

  /** Subscribes to cancels, then starts taking jobs (and webhook deliveries). */
  async start(): Promise<void> {
    this.#offCancel = await this.#events.onCancel((jobId) => {
      if (this.running.stop(jobId, 'cancel')) this.#deps.logger.info({ jobId }, 'cancel received; stopping');
    });
    if (this.options.runWebhookWorker) {
      this.#webhookWorker = startWebhookWorker({
        connection: this.#deps.redis,
        prefix: this.store.keys.webhookQueuePrefix(),
        secrets: this.#deps.config.webhookSecrets,
        urlPolicy: { allowPrivate: this.#deps.config.urlAllowPrivate },
        logger: this.#deps.logger,
      });
    }
    for (const worker of this.workers) {
      void worker.run().catch((err) => this.#deps.logger.error({ err }, 'upload worker stopped'));
    }
    await Promise.all(this.workers.map((worker) => worker.waitUntilReady()));
  }

  get closing(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Graceful stop: take no new job, abort the running uploads (checkpoints stay), hand them back to
   * the queue without spending an attempt, then close. Bounded by `shutdownGraceMs`, after which the
   * worker closes anyway (jobs not handed back return through stalled detection). Safe to call twice.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const log = this.#deps.logger;
      log.info({ running: this.running.size }, 'worker shutting down');
      const closingUploads = Promise.all(this.workers.map((worker) => worker.close()));
      this.running.stopAll('shutdown');
      const closingWebhooks = this.#webhookWorker?.close() ?? Promise.resolve();
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'timeout'>((r) => {
        timer = setTimeout(() => r('timeout'), this.options.shutdownGraceMs);
      });
      const outcome = await Promise.race([Promise.allSettled([closingUploads, closingWebhooks]), graceOver]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        // Jobs still active keep their lock until it expires; stalled detection then requeues them.
        log.warn({ running: this.running.size }, 'grace period over; closing without waiting');
      }
      for (const step of [
        () => this.#offCancel?.(),
        () => this.#events.close(),
        () => this.#webhooks.close(),
      ]) {
        try {
          await step();
        } catch (err) {
          log.warn({ err }, 'shutdown step failed');
        }
      }
      log.info({}, 'worker stopped');
    })();
    return this.#closing;
  }
}

/** Builds (does not start) the upload worker. */
export function buildWorker(deps: UploadWorkerDeps): UploadWorker {
  return new UploadWorker(deps);
}
