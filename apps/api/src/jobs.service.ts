import { type JobSpec, MediaferryError, type SourceSpec } from '@mediaferry/core';
import {
  enqueueUploads,
  isTerminal,
  type JobRecord,
  type JobStore,
  type UploadQueues,
} from '@mediaferry/queue';
import { ApiError, conflict, fromMediaferryError, notFound, unavailable } from './api-error.js';
import { JobCreateBatcher } from './job-create-batcher.js';

/**
 * Refuses a source the API can already tell is bad (outside the file roots, missing, refused by the
 * SSRF policy): `assertSourceAllowed` of @mediaferry/sources in production.
 */
export type SourceCheck = (source: SourceSpec, signal: AbortSignal) => Promise<void>;

export interface JobsServiceDeps {
  store: JobStore;
  /** The upload queue shards; a job's BullMQ job lives in the shard its id names. */
  queue: UploadQueues;
  checkSource: SourceCheck;
  /** service → webhook secret; a service without one may not set `callbackUrl`. */
  webhookSecrets: ReadonlyMap<string, string>;
  /** Upper bound of BullMQ calls, which otherwise wait for a Redis that is away. @defaultValue 5000 */
  queueTimeoutMs?: number;
  /**
   * Called when a cancel finished a job with no worker involved (it was removed from the queue), so
   * the `job.canceled` webhook goes out; workers send it for the jobs they stop. @defaultValue none
   */
  onCanceled?: (record: JobRecord) => Promise<void>;
}

export type SubmitOutcome =
  | { status: 'created'; record: JobRecord }
  | { status: 'existing'; record: JobRecord }
  | { status: 'refused'; error: ApiError };

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(unavailable('The queue did not answer in time')), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `fn` over `items` with at most `limit` in flight; results keep the input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  });
  await Promise.all(lanes);
  return out;
}

/** What the job routes do, without HTTP: submit (idempotent), cancel, retry. */
export class JobsService {
  private readonly queueTimeoutMs: number;
  private readonly creates: JobCreateBatcher;

  constructor(private readonly deps: JobsServiceDeps) {
    this.queueTimeoutMs = deps.queueTimeoutMs ?? 5000;
    this.creates = new JobCreateBatcher({
      store: deps.store,
      enqueue: async (records) => {
        try {
          await withTimeout(enqueueUploads(this.deps.queue, records), this.queueTimeoutMs);
        } catch (err) {
          // The records stay queued; a repeat with the same idempotency key enqueues them again.
          throw err instanceof ApiError
            ? err
            : unavailable('The job could not be enqueued; retry with the same idempotency key');
        }
      },
    });
  }

  /**
   * Accepts validated specs of one service. Each is refused on its own (bad source, callback
   * without a webhook secret, idempotency conflict) or becomes a job. A repeat of an idempotency key
   * answers the existing job, which is enqueued again if still queued (a no-op in BullMQ, and the
   * repair when a crash fell between the two). The records and BullMQ jobs of concurrent submissions
   * are written together (see `JobCreateBatcher`).
   */
  async submit(service: string, specs: readonly JobSpec[], signal: AbortSignal): Promise<SubmitOutcome[]> {
    const outcomes: (SubmitOutcome | undefined)[] =
      specs.length === 1
        ? [await this.precheck(service, specs[0] as JobSpec, signal)]
        : await mapLimit(specs, 16, (spec) => this.precheck(service, spec, signal));
    const toCreate = specs.flatMap((spec, i) => (outcomes[i] ? [] : [{ index: i, spec }]));
    const created = await this.creates.create(toCreate.map(({ spec }) => ({ service, spec })));
    for (const [j, result] of created.entries()) {
      const { index } = toCreate[j] as { index: number };
      outcomes[index] =
        result.outcome === 'conflict'
          ? {
              status: 'refused',
              error: conflict('This idempotency key was used for a different job', {
                jobId: result.record.id,
              }),
            }
          : { status: result.outcome, record: result.record };
    }
    return outcomes as SubmitOutcome[];
  }

  /** Checks that do not need a new record; undefined when the spec may go on. */
  private async precheck(
    service: string,
    spec: JobSpec,
    signal: AbortSignal,
  ): Promise<SubmitOutcome | undefined> {
    if (spec.callbackUrl && !this.deps.webhookSecrets.has(service)) {
      return {
        status: 'refused',
        error: new ApiError(
          400,
          'VALIDATION_FAILED',
          'This service has no webhook secret, so it cannot set callbackUrl',
          {
            fields: [{ path: 'callbackUrl', message: 'no webhook secret is configured for this service' }],
          },
        ),
      };
    }
    // A known idempotency key answers without looking at the source again (it may be gone by now).
    // Checks that stay on this machine (a file, no callback URL) cost less than asking Redis first:
    // they run first, and the key is looked up only when they refuse.
    const localChecks = spec.source.type === 'file' && !spec.callbackUrl;
    if (!localChecks && (await this.keyKnown(service, spec))) return undefined;
    let refusal: ApiError;
    try {
      await this.deps.checkSource(spec.source, signal);
      if (spec.callbackUrl) await this.checkCallback(spec.callbackUrl, signal);
      return undefined;
    } catch (err) {
      if (err instanceof ApiError) refusal = err;
      else if (err instanceof MediaferryError) refusal = fromMediaferryError(err);
      else throw err;
    }
    if (localChecks && (await this.keyKnown(service, spec))) return undefined;
    return { status: 'refused', error: refusal };
  }

  /** Whether the spec's idempotency key names a job that still exists (the create then answers it). */
  private async keyKnown(service: string, spec: JobSpec): Promise<boolean> {
    if (!spec.idempotencyKey) return false;
    const id = await this.deps.store.redis.get(
      this.deps.store.keys.idempotency(service, spec.idempotencyKey),
    );
    return id !== null && (await this.deps.store.get(id)) !== null;
  }

  /** Callback URLs follow the SSRF policy of URL sources (CONTRACT §3). */
  private async checkCallback(url: string, signal: AbortSignal): Promise<void> {
    try {
      await this.deps.checkSource({ type: 'url', url }, signal);
    } catch (err) {
      if (err instanceof MediaferryError && err.code === 'SOURCE_FORBIDDEN') {
        throw new ApiError(400, 'VALIDATION_FAILED', 'callbackUrl is refused by the network policy', {
          fields: [{ path: 'callbackUrl', message: err.message }],
        });
      }
      throw err;
    }
  }

  async getOwned(id: string, service: string): Promise<JobRecord> {
    const record = await this.deps.store.getOwned(id, service);
    if (!record) throw notFound();
    return record;
  }

  /**
   * Marks the job canceled at once, then:
   * - never started (waiting): removed from the queue; nothing else exists, so it is done here;
   * - started before (delayed for a retry, or handed back): left in the queue and promoted, so a
   *   worker picks it up now, sees `canceled` and aborts the multipart upload and drops the checkpoint;
   * - running: the cancel broadcast makes its worker abort and clean up.
   */
  async cancel(id: string, service: string): Promise<JobRecord> {
    const record = await this.getOwned(id, service);
    if (isTerminal(record.status))
      throw conflict(`The job is already ${record.status}`, { status: record.status });
    const result = await this.deps.store.cancel(id);
    if (!result.ok) {
      if (!result.record) throw notFound();
      throw conflict(`The job is already ${result.record.status}`, { status: result.record.status });
    }
    const canceled = result.record;
    try {
      const job = await withTimeout(this.deps.queue.getJob(id), this.queueTimeoutMs);
      if (!job) {
        await this.deps.onCanceled?.(canceled);
      } else if (job.attemptsStarted > 0) {
        if (await job.isDelayed()) await withTimeout(job.promote(), this.queueTimeoutMs);
      } else if ((await withTimeout(this.deps.queue.remove(id), this.queueTimeoutMs)) === 1) {
        await this.deps.onCanceled?.(canceled);
      }
      // remove() answers 0 while a worker holds the lock: that worker finishes the cancel.
    } catch {
      // The record says canceled: whichever worker gets the job next cleans up and notifies.
    }
    return canceled;
  }

  /**
   * A failed or canceled job runs again under the same id, so its checkpoint (if any) is resumed.
   * A `queued` job with no BullMQ job (its enqueue was lost: Redis went away between the record
   * change and the enqueue, which answered 503) is enqueued again: retrying is how a caller repairs it.
   */
  async retry(id: string, service: string): Promise<JobRecord> {
    const record = await this.getOwned(id, service);
    if (record.status === 'queued') {
      if (await withTimeout(this.deps.queue.getJob(id), this.queueTimeoutMs)) {
        throw conflict('Only failed or canceled jobs can be retried; this one is queued', {
          status: 'queued',
        });
      }
      await withTimeout(enqueueUploads(this.deps.queue, [record]), this.queueTimeoutMs);
      return record;
    }
    if (record.status !== 'failed' && record.status !== 'canceled') {
      throw conflict(`Only failed or canceled jobs can be retried; this one is ${record.status}`, {
        status: record.status,
      });
    }
    // The finished BullMQ job must go before one with the same id can be added. `remove` refuses
    // (0) while a worker holds the job's lock, atomically: a worker still cleaning up a cancel, or
    // one that picked the job up a moment ago, keeps it, and the caller tries again shortly.
    const removed = await withTimeout(this.deps.queue.remove(id), this.queueTimeoutMs);
    if (removed !== 1) throw conflict('The job is still stopping; retry in a moment');
    const result = await this.deps.store.retry(id);
    if (!result.ok) {
      if (!result.record) throw notFound();
      throw conflict(`Only failed or canceled jobs can be retried; this one is ${result.record.status}`);
    }
    await withTimeout(enqueueUploads(this.deps.queue, [result.record]), this.queueTimeoutMs);
    return result.record;
  }
}
