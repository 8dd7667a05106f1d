import { randomBytes } from 'node:crypto';
import type { ClientUploadLogger, ClientUploadService } from './client-upload.service.js';
import type { ClientUploadRecord } from './client-upload-record.js';

export interface ReconcilerOptions {
  /** Services whose open uploads are checked (the API's configured services). */
  services: () => Iterable<string>;
  /** Time between passes. @defaultValue 60000 */
  intervalMs?: number;
  /** Open uploads checked per service per pass (earliest deadline first). @defaultValue 500 */
  batch?: number;
  /** VOD look-ups in flight. @defaultValue 4 */
  concurrency?: number;
  logger: ClientUploadLogger;
}

export interface PassReport {
  checked: number;
  completed: number;
  rejected: number;
  expired: number;
}

/**
 * For deployments where VOD's events cannot reach the API (or one was lost: VOD retries twice, then
 * drops it): every `intervalMs`, one replica (a lease in Redis) asks VOD about each open upload and
 * settles it as an event would; uploads past their deadline with no file expire and lose their media.
 */
export class ClientUploadReconciler {
  readonly #token = randomBytes(12).toString('hex');
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<PassReport | null> | undefined;
  #abort = new AbortController();

  constructor(
    private readonly service: ClientUploadService,
    private readonly options: ReconcilerOptions,
  ) {}

  start(): void {
    if (this.#timer) return;
    const tick = () => {
      this.#running = this.runOnce().catch((err: unknown) => {
        this.options.logger.warn({ err }, 'client-upload reconciler pass failed');
        return null;
      });
      void this.#running.finally(() => {
        if (!this.#abort.signal.aborted) this.#timer = setTimeout(tick, this.options.intervalMs ?? 60_000);
      });
    };
    this.#timer = setTimeout(tick, this.options.intervalMs ?? 60_000);
  }

  async close(): Promise<void> {
    this.#abort.abort();
    clearTimeout(this.#timer);
    await this.#running;
  }

  /** One pass, if this replica gets the lease (null otherwise). */
  async runOnce(): Promise<PassReport | null> {
    const { store } = this.service.deps;
    const interval = this.options.intervalMs ?? 60_000;
    const lock = store.keys.reconcilerLock();
    const got = await store.redis.set(lock, this.#token, 'PX', Math.max(1000, interval), 'NX');
    if (got !== 'OK') return null;
    const report: PassReport = { checked: 0, completed: 0, rejected: 0, expired: 0 };
    try {
      for (const name of this.options.services()) {
        const open = await store.open(name, this.options.batch ?? 500);
        await this.#each(open, (r) => this.#check(r, report));
        if (this.#abort.signal.aborted) break;
      }
    } finally {
      // Released only if still ours (a pass longer than the lease may have lost it).
      await store.redis
        .eval(
          "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
          1,
          lock,
          this.#token,
        )
        .catch(() => undefined);
    }
    return report;
  }

  async #check(record: ClientUploadRecord, report: PassReport): Promise<void> {
    const signal = this.#abort.signal;
    report.checked += 1;
    const now = this.service.deps.store.now();
    if (record.mediaId) {
      const state = await this.service.deps.vod.lookup(record.media.type, record.mediaId, signal);
      const outcome = await this.service.settle(record, state, signal);
      if (outcome === 'completed') report.completed += 1;
      if (outcome === 'rejected') report.rejected += 1;
      if (outcome !== 'pending') return;
    } else if (record.leaseUntil > now) {
      return; // its media is being created right now
    }
    if (record.deadline <= now && (await this.service.expire(record, signal))) report.expired += 1;
  }

  async #each(records: ClientUploadRecord[], fn: (r: ClientUploadRecord) => Promise<void>): Promise<void> {
    let next = 0;
    const lanes = Array.from(
      { length: Math.min(this.options.concurrency ?? 4, records.length) },
      async () => {
        while (next < records.length && !this.#abort.signal.aborted) {
          const record = records[next++] as ClientUploadRecord;
          try {
            await fn(record);
          } catch (err) {
            this.options.logger.warn(
              { err, clientUploadId: record.id },
              'could not reconcile a client upload',
            );
          }
        }
      },
    );
    await Promise.all(lanes);
  }
}
