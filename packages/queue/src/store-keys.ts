import { createHash } from 'node:crypto';
import { JOB_ID_PARTITIONS, type JobStatus, jobIdPartition } from '@mediaferry/core';

/** @defaultValue 'mediaferry' — shared with BullMQ's `prefix` so one Redis can host several deployments. */
export const DEFAULT_REDIS_PREFIX = 'mediaferry';

/** BullMQ queue names. Stable: workers of different versions must agree on them. */
export const QUEUE_NAMES = { uploads: 'uploads', webhooks: 'webhooks' } as const;

/**
 * Every Redis key and channel mediaferry uses, in one place; other packages take their prefixes from
 * here. The layout is made for Redis Cluster (and proxies that require each script in one slot):
 * - a job's record, secret and idempotency key, and its service's status indexes, carry the hash tag
 *   of the job's partition (`{jobs-N}`, N = `jobIdPartition(id)`, 32 partitions): each job-store script
 *   touches one slot, and the jobs of a deployment spread over 32 slots;
 * - upload queue shard i is the BullMQ queue `uploads` under the prefix `<prefix>:{uploads-i}`, the
 *   webhook queue under `<prefix>:{webhooks}`: each BullMQ script touches its queue's slot only;
 * - checkpoints (`<prefix>:checkpoint:<uploadKey>`), rate-limit counters and the upload lock are one
 *   key per script: any slot works, and different jobs land on different slots.
 * Pub/sub channels are not keys (cluster pub/sub reaches every node).
 * A standalone or Sentinel-managed Redis ignores the tags; the layout is the same everywhere.
 */
export class StoreKeys {
  /** `<prefix>:` — every key starts with it (so ACLs can say `~<prefix>:*`). */
  readonly base: string;
  /** Pub/sub channel carrying the ids of canceled jobs to every worker. */
  readonly cancelChannel: string;

  constructor(readonly prefix: string = DEFAULT_REDIS_PREFIX) {
    this.base = `${prefix}:`;
    this.cancelChannel = `${prefix}:cancel`;
  }

  /** `<prefix>:{jobs-N}:` — the start of every key of partition N (followed by `job:`, `jobs:`, …). */
  partitionBase(partition: number): string {
    return `${this.base}{jobs-${partition}}:`;
  }

  /** All partition bases, for the list operations that read every partition. */
  allPartitionBases(): string[] {
    return Array.from({ length: JOB_ID_PARTITIONS }, (_, p) => this.partitionBase(p));
  }

  /** Where a job's keys live. */
  jobBase(id: string): string {
    return this.partitionBase(jobIdPartition(id));
  }

  /** The hash with the job record. */
  job(id: string): string {
    return `${this.jobBase(id)}job:${id}`;
  }

  /** A sorted set of a service's job ids (score 0, lex order) in one partition, per status or `all`. */
  index(partitionBase: string, service: string, status?: JobStatus): string {
    return `${partitionBase}jobs:${service}:${status ?? 'all'}`;
  }

  /**
   * The partition an idempotency key belongs to: a job created with this key gets an id of this
   * partition, so the key and the record share a slot (one script checks one and writes the other).
   */
  idempotencyPartition(service: string, key: string): number {
    return createHash('sha256').update(`${service}\n${key}`).digest()[0]! % JOB_ID_PARTITIONS;
  }

  /** The key is hashed: it is caller-chosen text of any shape and could carry something private. */
  idempotency(service: string, key: string): string {
    const digest = createHash('sha256').update(key).digest('hex');
    return `${this.partitionBase(this.idempotencyPartition(service, key))}idem:${service}:${digest}`;
  }

  /**
   * A string with the JSON of what a job needs to run but no caller may see (`{"headers": {…}}`, a URL
   * source's request headers). Only workers read it (`JobStore.sourceForRun`); it is deleted when the
   * job succeeds and expires with the record otherwise.
   */
  jobSecret(id: string): string {
    return `${this.jobBase(id)}jobsecret:${id}`;
  }

  /** Pub/sub channel of one job's `progress` and `status` events. */
  events(id: string): string {
    return `${this.base}events:${id}`;
  }

  /** BullMQ `prefix` of upload queue shard `shard` (its queue name stays `uploads`). */
  uploadQueuePrefix(shard: number): string {
    return `${this.base}{uploads-${shard}}`;
  }

  /** BullMQ `prefix` of the webhook delivery queue. */
  webhookQueuePrefix(): string {
    return `${this.base}{webhooks}`;
  }

  /** Prefix of the upload checkpoints (one hash per upload, every script on that one key). */
  checkpointPrefix(): string {
    return `${this.base}checkpoint:`;
  }

  /** Prefix of the API's per-service rate-limit counters (one key per service and window). */
  rateLimitPrefix(): string {
    return `${this.base}ratelimit:`;
  }
}

/** The upload shard a job belongs to: fixed by its id, so every process finds it without a lookup. */
export function uploadShardOf(id: string, shards: number): number {
  return jobIdPartition(id) % Math.max(1, shards);
}
