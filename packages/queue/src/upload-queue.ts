import { type DefaultJobOptions, type JobsOptions, Queue } from 'bullmq';
import type { JobRecord } from './job-record.js';
import type { RedisClient } from './redis-connection.js';
import { DEFAULT_REDIS_PREFIX, QUEUE_NAMES, StoreKeys, uploadShardOf } from './store-keys.js';

/** BullMQ job name of an upload (the record id is the BullMQ job id). */
export const UPLOAD_JOB_NAME = 'upload';

/** The BullMQ payload: only a pointer to the record, which holds the spec (and its secrets). */
export interface UploadJobData {
  jobId: string;
  service: string;
}

export interface UploadJobOptionsInput {
  /** Tries before a retryable error fails the job for good. @defaultValue 8 */
  attempts?: number;
  /** First retry delay; doubles per attempt (5 s, 10 s, 20 s … ≈ 10 min over 8 attempts). @defaultValue 5000 */
  backoffDelayMs?: number;
  /** Fraction of each delay drawn at random so failed jobs do not retry in lockstep. @defaultValue 0.5 */
  backoffJitter?: number;
  /** Completed BullMQ jobs kept (the record outlives them). @defaultValue {age: 86400, count: 10000} */
  removeOnComplete?: { age: number; count: number };
  /** Failed BullMQ jobs kept. @defaultValue {age: 604800, count: 10000} */
  removeOnFail?: { age: number; count: number };
}

/** Default options of every upload job: retries with exponential backoff and jitter, bounded retention. */
export function uploadJobOptions(input: UploadJobOptionsInput = {}): DefaultJobOptions {
  return {
    attempts: input.attempts ?? 8,
    backoff: { type: 'exponential', delay: input.backoffDelayMs ?? 5000, jitter: input.backoffJitter ?? 0.5 },
    removeOnComplete: input.removeOnComplete ?? { age: 24 * 3600, count: 10_000 },
    removeOnFail: input.removeOnFail ?? { age: 7 * 24 * 3600, count: 10_000 },
  };
}

/** Per-job options: the record id as BullMQ id (adding it twice is a no-op) and its priority. */
export function uploadJobAddOptions(record: JobRecord): JobsOptions {
  // BullMQ: 0 = no priority (runs first), then 1, 2, … — lower runs earlier.
  return { jobId: record.id, priority: record.spec.priority };
}

export interface CreateUploadQueueOptions {
  /** @defaultValue 'mediaferry' */
  prefix?: string;
  /** Queue shards jobs spread over (config `queueShards`). @defaultValue 1 */
  shards?: number;
  jobOptions?: UploadJobOptionsInput;
}

type UploadQueue = Queue<UploadJobData, unknown, string>;

/**
 * The upload queue as N BullMQ queues ("shards"), each under its own hash-tagged prefix so that on a
 * Redis Cluster each shard is one slot and the shards spread over the masters. A job's shard follows
 * from its id (`uploadShardOf`), so the API, any worker and the metrics service find it without a
 * lookup; every worker consumes every shard. With one shard this is one plain BullMQ queue.
 */
export class UploadQueues {
  constructor(readonly shards: readonly UploadQueue[]) {
    if (shards.length === 0) throw new Error('UploadQueues needs at least one shard');
  }

  /** The shard index of job `id`. */
  shardOf(id: string): number {
    return uploadShardOf(id, this.shards.length);
  }

  /** The BullMQ queue that holds job `id`. */
  queueOf(id: string): UploadQueue {
    return this.shards[this.shardOf(id)] as UploadQueue;
  }

  /**
   * The BullMQ job, looked up in its shard first, then in the others: a job enqueued before the
   * shard count changed sits where the old count put it.
   */
  async getJob(id: string): Promise<Awaited<ReturnType<UploadQueue['getJob']>>> {
    return (await this.locate(id))?.job;
  }

  /** BullMQ's `remove` in the shard holding the job: 1 when removed, 0 while a worker holds its lock. */
  async remove(id: string): Promise<number> {
    const queue = (await this.locate(id))?.queue ?? this.queueOf(id);
    return await queue.remove(id);
  }

  private async locate(id: string) {
    const home = this.queueOf(id);
    for (const queue of [home, ...this.shards.filter((q) => q !== home)]) {
      const job = await queue.getJob(id);
      if (job) return { queue, job };
    }
    return undefined;
  }

  /** Adds the BullMQ jobs of freshly created records: one round trip per shard touched. */
  async enqueue(records: readonly JobRecord[]): Promise<void> {
    const byShard = new Map<number, JobRecord[]>();
    for (const record of records) {
      const shard = this.shardOf(record.id);
      byShard.set(shard, [...(byShard.get(shard) ?? []), record]);
    }
    await Promise.all(
      [...byShard].map(([shard, list]) => addToQueue(this.shards[shard] as UploadQueue, list)),
    );
  }

  /** BullMQ's `getJobCountByTypes`, summed over the shards. */
  async getJobCountByTypes(...types: Parameters<UploadQueue['getJobCountByTypes']>): Promise<number> {
    const counts = await Promise.all(this.shards.map((q) => q.getJobCountByTypes(...types)));
    return counts.reduce((a, b) => a + b, 0);
  }

  on(event: 'error', listener: (err: Error) => void): this {
    for (const q of this.shards) q.on(event, listener);
    return this;
  }

  async waitUntilReady(): Promise<void> {
    await Promise.all(this.shards.map((q) => q.waitUntilReady()));
  }

  /** Closes every shard (not the connection). Safe to call twice. */
  async close(): Promise<void> {
    await Promise.all(this.shards.map((q) => q.close()));
  }
}

/** The producer side of the upload queue shards, on a connection made by `createRedis()`. */
export function createUploadQueue(
  connection: RedisClient,
  options: CreateUploadQueueOptions = {},
): UploadQueues {
  const keys = new StoreKeys(options.prefix ?? DEFAULT_REDIS_PREFIX);
  const defaultJobOptions = uploadJobOptions(options.jobOptions);
  return new UploadQueues(
    Array.from(
      { length: Math.max(1, options.shards ?? 1) },
      (_, shard) =>
        new Queue<UploadJobData, unknown, string>(QUEUE_NAMES.uploads, {
          connection,
          prefix: keys.uploadQueuePrefix(shard),
          defaultJobOptions,
        }),
    ),
  );
}

/** Adds the BullMQ jobs of freshly created records (see `UploadQueues.enqueue`). */
export async function enqueueUploads(queues: UploadQueues, records: readonly JobRecord[]): Promise<void> {
  await queues.enqueue(records);
}

async function addToQueue(queue: UploadQueue, records: readonly JobRecord[]): Promise<void> {
  const [only] = records;
  if (records.length === 1 && only) {
    // The same job as addBulk would add, without its pipeline object (which costs more than one job).
    await queue.add(UPLOAD_JOB_NAME, { jobId: only.id, service: only.service }, uploadJobAddOptions(only));
    return;
  }
  await queue.addBulk(
    records.map((record) => ({
      name: UPLOAD_JOB_NAME,
      data: { jobId: record.id, service: record.service },
      opts: uploadJobAddOptions(record),
    })),
  );
}
