import { createHash } from 'node:crypto';
import type { JobStatus } from '@mediaferry/core';

/** @defaultValue 'mediaferry' — shared with BullMQ's `prefix` so one Redis can host several deployments. */
export const DEFAULT_REDIS_PREFIX = 'mediaferry';

/**
 * Every Redis key and channel the job store uses, in one place. BullMQ keys live beside them as
 * `<prefix>:<queue>:…`; queue names never collide with the words below.
 */
export class StoreKeys {
  /** `<prefix>:job:` — followed by a job id; a hash with the job record. */
  readonly jobPrefix: string;
  /** `<prefix>:jobs:` — followed by `<service>:<status|all>`; sorted sets of job ids (score 0, lex order). */
  readonly indexPrefix: string;
  /** Pub/sub channel carrying the ids of canceled jobs to every worker. */
  readonly cancelChannel: string;

  constructor(readonly prefix: string = DEFAULT_REDIS_PREFIX) {
    this.jobPrefix = `${prefix}:job:`;
    this.indexPrefix = `${prefix}:jobs:`;
    this.cancelChannel = `${prefix}:cancel`;
  }

  job(id: string): string {
    return this.jobPrefix + id;
  }

  index(service: string, status?: JobStatus): string {
    return `${this.indexPrefix}${service}:${status ?? 'all'}`;
  }

  /** The key is hashed: it is caller-chosen text of any shape and could carry something private. */
  idempotency(service: string, key: string): string {
    return `${this.prefix}:idem:${service}:${createHash('sha256').update(key).digest('hex')}`;
  }

  /**
   * A string with the JSON of what a job needs to run but no caller may see (`{"headers": {…}}`, a URL
   * source's request headers). Only workers read it (`JobStore.sourceForRun`); it is deleted when the
   * job succeeds and expires with the record otherwise.
   */
  jobSecret(id: string): string {
    return `${this.prefix}:jobsecret:${id}`;
  }

  /** Pub/sub channel of one job's `progress` and `status` events. */
  events(id: string): string {
    return `${this.prefix}:events:${id}`;
  }
}
