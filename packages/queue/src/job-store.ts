import {
  type JobErrorView,
  type JobProgress,
  type JobResult,
  type JobSpec,
  type JobStatus,
  newJobId,
  type SourceSpec,
} from '@mediaferry/core';
import type { JobEvent } from './job-events.js';
import {
  decodeJobRecord,
  emptyProgress,
  specHash as hashSpec,
  type JobRecord,
  pairsToHash,
} from './job-record.js';
import { createJobScript, transitionJobScript } from './job-store.scripts.js';
import type { RedisClient } from './redis-connection.js';
import { DEFAULT_REDIS_PREFIX, StoreKeys } from './store-keys.js';

export interface JobStoreOptions {
  /** Key prefix shared with BullMQ. @defaultValue 'mediaferry' */
  prefix?: string;
  /**
   * How long a finished (succeeded, failed, canceled) record and its idempotency key stay
   * readable; a retry makes them permanent again. @defaultValue 1209600 (14 days)
   */
  finishedTtlSeconds?: number;
  /** @defaultValue Date.now */
  now?: () => number;
}

export interface CreateJobInput {
  service: string;
  /** The validated spec; `idempotencyKey` (if any) is the one that counts. */
  spec: JobSpec;
}

export type CreateJobResult =
  /** A new record was written; the caller must now enqueue it. */
  | { outcome: 'created'; record: JobRecord }
  /** The idempotency key already names this job, created with the same spec. */
  | { outcome: 'existing'; record: JobRecord }
  /** The idempotency key already names a job created with a different spec. */
  | { outcome: 'conflict'; record: JobRecord };

export type TransitionResult =
  /** The change happened; `record` is the record after it. */
  | { ok: true; record: JobRecord }
  /** The record was not in an allowed status; nothing changed. */
  | { ok: false; record: JobRecord }
  | { ok: false; record: null };

export interface ListJobsOptions {
  status?: JobStatus;
  /** @defaultValue 20 */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string | null;
}

export interface JobPage {
  records: JobRecord[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

interface TransitionSpec {
  from: readonly JobStatus[];
  to?: JobStatus;
  fields?: Record<string, string>;
  event?: JobEvent;
  attempt?: number;
  setStartedAt?: boolean;
  rebaseAttempts?: boolean;
  /** The run token the record must hold, else nothing changes. */
  requireRunner?: string | undefined;
  /** The run token to store (a worker starting the job). */
  setRunner?: string | undefined;
}

/** What a job needs to run but nobody may see, kept at `StoreKeys.jobSecret(id)`. */
interface JobSecret {
  /** A URL source's request headers (they may carry tokens). */
  headers?: Record<string, string>;
}

/** The spec as the record stores it (no source request headers) and the secret taken out of it. */
function splitSecret(spec: JobSpec): { stored: JobSpec; secret: string } {
  const { source } = spec;
  if (source.type !== 'url' || source.headers === undefined) return { stored: spec, secret: '' };
  const { headers, ...rest } = source;
  const secret: JobSecret = { headers };
  return { stored: { ...spec, source: rest }, secret: JSON.stringify(secret) };
}

/**
 * The job records API and workers share in Redis. Every change is one atomic Lua step, guarded by
 * the statuses it may start from (see `job-store.scripts.ts`). Newest jobs list first.
 * A URL source's request headers never enter the record: they live in the job's secret key, which
 * only `sourceForRun` (the worker) reads.
 */
export class JobStore {
  readonly keys: StoreKeys;
  private readonly finishedTtlSeconds: number;
  private readonly now: () => number;

  constructor(
    readonly redis: RedisClient,
    options: JobStoreOptions = {},
  ) {
    this.keys = new StoreKeys(options.prefix ?? DEFAULT_REDIS_PREFIX);
    this.finishedTtlSeconds = options.finishedTtlSeconds ?? 14 * 24 * 3600;
    this.now = options.now ?? Date.now;
  }

  /**
   * Writes a new `queued` record, or — when the spec carries an idempotency key this service used
   * before — returns the job that key names, in the same atomic step (so 20 concurrent duplicates
   * make one job).
   */
  async create(input: CreateJobInput): Promise<CreateJobResult> {
    const [result] = await this.createMany([input]);
    if (!result) throw new Error('createMany returned nothing');
    return result;
  }

  /**
   * `create` for many specs (of any services) in one round trip. Results keep the input order; the
   * records returned (like every record read back) hold the spec without source request headers.
   */
  async createMany(inputs: readonly CreateJobInput[]): Promise<CreateJobResult[]> {
    if (inputs.length === 0) return [];
    const now = this.now();
    const prepared = inputs.map((input) => {
      const { stored, secret } = splitSecret(input.spec);
      const key = input.spec.idempotencyKey;
      // A keyed job's id is of its key's partition: the script checks the key and writes the record in one slot.
      const partition = key ? this.keys.idempotencyPartition(input.service, key) : undefined;
      const record: JobRecord = {
        id: newJobId(now, partition),
        service: input.service,
        status: 'queued',
        spec: stored,
        // Of the whole spec, headers included: a repeat with other headers is another job.
        specHash: hashSpec(input.spec),
        progress: emptyProgress(),
        attempts: 0,
        result: null,
        error: null,
        createdAt: now,
        startedAt: null,
        finishedAt: null,
        updatedAt: now,
      };
      const jobKey = this.keys.job(record.id);
      const base = this.keys.jobBase(record.id);
      const keys = [
        jobKey,
        key ? this.keys.idempotency(input.service, key) : jobKey,
        this.keys.jobSecret(record.id),
      ];
      const args = [
        record.id,
        record.service,
        JSON.stringify(record.spec),
        record.specHash,
        JSON.stringify(record.progress),
        String(now),
        key ? '1' : '0',
        `${base}job:`,
        `${base}jobs:`,
        secret,
      ];
      return { record, keys, args };
    });
    const replies = await createJobScript.runMany(this.redis, prepared);
    return await Promise.all(
      prepared.map(async (p, i): Promise<CreateJobResult> => {
        const [err, reply] = replies[i] ?? [new Error('no reply'), null];
        if (err) throw err;
        const [created, id, hash] = reply as [number, string, string];
        if (created === 1) return { outcome: 'created', record: p.record };
        const existing = await this.get(id);
        if (!existing) {
          // The earlier job expired between the script and this read: a fresh attempt will take the key.
          return await this.create(inputs[i] as CreateJobInput);
        }
        return { outcome: hash === p.record.specHash ? 'existing' : 'conflict', record: existing };
      }),
    );
  }

  /**
   * The job's source as a worker must open it: a URL source gets its request headers back from the
   * job's secret key. For workers only: what it returns must never be logged or shown to a caller.
   * (Records written before the secret key existed still hold their headers in the spec.)
   */
  async sourceForRun(record: JobRecord): Promise<SourceSpec> {
    const { source } = record.spec;
    if (source.type !== 'url' || source.headers !== undefined) return source;
    const raw = await this.redis.get(this.keys.jobSecret(record.id));
    const secret = raw ? (JSON.parse(raw) as JobSecret) : {};
    return secret.headers ? { ...source, headers: secret.headers } : source;
  }

  async get(id: string): Promise<JobRecord | null> {
    return decodeJobRecord(await this.redis.hgetall(this.keys.job(id)));
  }

  /** The record when it exists AND belongs to `service`; another service's job reads as absent. */
  async getOwned(id: string, service: string): Promise<JobRecord | null> {
    const record = await this.get(id);
    return record && record.service === service ? record : null;
  }

  /**
   * A service's jobs, newest first, optionally of one status, paged by an opaque cursor. Ids sort by
   * creation time, so the page is the newest ids over every partition's index, merged.
   */
  async list(service: string, options: ListJobsOptions = {}): Promise<JobPage> {
    const limit = Math.max(1, Math.min(options.limit ?? 20, 1000));
    const bases = this.keys.allPartitionBases();
    const records: JobRecord[] = [];
    let max = options.cursor ? `(${options.cursor}` : '+';
    for (;;) {
      const want = limit + 1 - records.length;
      // One command per partition (different slots on a cluster; auto-pipelined where enabled).
      const found = await Promise.all(
        bases.map((base) =>
          this.redis.zrevrangebylex(
            this.keys.index(base, service, options.status),
            max,
            '-',
            'LIMIT',
            0,
            want,
          ),
        ),
      );
      const ids = found.flat().sort().reverse().slice(0, want);
      if (ids.length === 0) return { records, nextCursor: null };
      const hashes = await Promise.all(ids.map((id) => this.redis.hgetall(this.keys.job(id))));
      const stale: string[] = [];
      for (const [i, id] of ids.entries()) {
        const record = decodeJobRecord(hashes[i] ?? {});
        // An expired record leaves its index entries behind; drop them on the way.
        if (!record) stale.push(id);
        else if (!options.status || record.status === options.status) records.push(record);
        if (records.length > limit) {
          records.length = limit;
          return { records, nextCursor: records[limit - 1]?.id ?? null };
        }
      }
      await Promise.all(
        stale.map((id) =>
          this.redis.zrem(this.keys.index(this.keys.jobBase(id), service, options.status), id),
        ),
      );
      max = `(${ids[ids.length - 1]}`;
    }
  }

  /**
   * A worker starts (or resumes) the job: queued|running → running. Refused once it is canceled or
   * finished. `runner` (the BullMQ lock token of this run) becomes the record's run token: from now on
   * `progress`, `fail` and `release` given another token change nothing, so a worker that lost the job
   * to another (its lock expired while it was frozen) cannot overwrite the new run's record.
   */
  start(id: string, attempt: number, runner?: string): Promise<TransitionResult> {
    return this.transition(id, {
      from: ['queued', 'running'],
      to: 'running',
      attempt,
      setRunner: runner,
      setStartedAt: true,
      event: { type: 'status', status: 'running' },
    });
  }

  /** Records progress of a running job and publishes it; refused for another run's token. */
  progress(id: string, progress: JobProgress, runner?: string): Promise<TransitionResult> {
    return this.transition(id, {
      from: ['running'],
      requireRunner: runner,
      fields: { progress: JSON.stringify(progress) },
      event: { type: 'progress', progress },
    });
  }

  /**
   * The one completion: running → succeeded. A canceled or already finished job stays as it is.
   * Not guarded by the run token: the object was verified, so a completion is true whichever run made it.
   */
  succeed(id: string, result: JobResult, progress?: JobProgress): Promise<TransitionResult> {
    const fields: Record<string, string> = {
      result: JSON.stringify(result),
      error: '',
      finishedAt: String(this.now()),
    };
    if (progress) fields.progress = JSON.stringify(progress);
    return this.transition(id, {
      from: ['queued', 'running'],
      to: 'succeeded',
      fields,
      event: { type: 'status', status: 'succeeded' },
    });
  }

  /**
   * Records an error. `final`: the job is failed for good (fatal error, or attempts exhausted).
   * Otherwise it goes back to `queued` with the error kept as its last error while BullMQ retries.
   * `runner`: refused unless this run still holds the record (omit it for decisions made outside a run).
   */
  fail(
    id: string,
    error: JobErrorView,
    options: { final: boolean; runner?: string },
  ): Promise<TransitionResult> {
    const status: JobStatus = options.final ? 'failed' : 'queued';
    const fields: Record<string, string> = { error: JSON.stringify(error) };
    if (options.final) fields.finishedAt = String(this.now());
    return this.transition(id, {
      from: ['queued', 'running'],
      to: status,
      requireRunner: options.runner,
      fields,
      event: { type: 'status', status },
    });
  }

  /** A worker hands a running job back (shutdown): running → queued, nothing else changes. */
  release(id: string, runner?: string): Promise<TransitionResult> {
    return this.transition(id, {
      from: ['running'],
      to: 'queued',
      requireRunner: runner,
      event: { type: 'status', status: 'queued' },
    });
  }

  /**
   * queued|running → canceled, then broadcasts the cancel so the worker running it (anywhere)
   * aborts. Refused for finished jobs.
   */
  async cancel(id: string): Promise<TransitionResult> {
    const result = await this.transition(id, {
      from: ['queued', 'running'],
      to: 'canceled',
      fields: { finishedAt: String(this.now()) },
      event: { type: 'status', status: 'canceled' },
    });
    if (result.ok) await this.redis.publish(this.keys.cancelChannel, id);
    return result;
  }

  /** failed|canceled → queued, keeping progress (the checkpoint decides what is resumed). */
  retry(id: string): Promise<TransitionResult> {
    return this.transition(id, {
      from: ['failed', 'canceled'],
      to: 'queued',
      fields: { error: '', result: '', finishedAt: '' },
      rebaseAttempts: true,
      event: { type: 'status', status: 'queued' },
    });
  }

  private async transition(id: string, spec: TransitionSpec): Promise<TransitionResult> {
    const to = spec.to ?? '';
    const terminal = to === 'succeeded' || to === 'failed' || to === 'canceled';
    const args: string[] = [
      spec.from.join(','),
      to,
      String(this.now()),
      `${this.keys.jobBase(id)}jobs:`,
      terminal ? String(this.finishedTtlSeconds) : '0',
      this.keys.events(id),
      spec.event ? JSON.stringify(spec.event) : '',
      spec.attempt === undefined ? '' : String(spec.attempt),
      spec.setStartedAt ? '1' : '0',
      spec.rebaseAttempts ? '1' : '0',
      spec.requireRunner ?? '',
      spec.setRunner ?? '',
      // A succeeded job never runs again (a retry takes failed or canceled ones): its secret goes now.
      to === 'succeeded' ? '1' : '0',
    ];
    for (const [field, value] of Object.entries(spec.fields ?? {})) args.push(field, value);
    const [code, , pairs] = (await transitionJobScript.run(
      this.redis,
      [this.keys.job(id), this.keys.jobSecret(id)],
      args,
    )) as [number, string, unknown];
    const record = decodeJobRecord(pairsToHash(pairs));
    if (code === 1 && record) return { ok: true, record };
    return { ok: false, record };
  }
}
