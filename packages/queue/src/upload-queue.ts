import { type DefaultJobOptions, type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobRecord } from './job-record.js';
import { DEFAULT_REDIS_PREFIX } from './store-keys.js';

/** BullMQ queue names. Stable: workers of different versions must agree on them. */
export const QUEUE_NAMES = { uploads: 'uploads' } as const;

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
  jobOptions?: UploadJobOptionsInput;
}

/** The producer side of the uploads queue, on a connection made by `createRedis()`. */
export function createUploadQueue(
  connection: Redis,
  options: CreateUploadQueueOptions = {},
): Queue<UploadJobData, unknown, string> {
  return new Queue<UploadJobData, unknown, string>(QUEUE_NAMES.uploads, {
    connection,
    prefix: options.prefix ?? DEFAULT_REDIS_PREFIX,
    defaultJobOptions: uploadJobOptions(options.jobOptions),
  });
}

/** Adds the BullMQ jobs of freshly created records, in one round trip. */
export async function enqueueUploads(
  queue: Queue<UploadJobData, unknown, string>,
  records: JobRecord[],
): Promise<void> {
  if (records.length === 0) return;
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
