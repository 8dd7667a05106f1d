import type { CreateJobInput, CreateJobResult, JobRecord, JobStore } from '@mediaferry/queue';

export interface JobCreateBatcherOptions {
  store: Pick<JobStore, 'createMany'>;
  /** Enqueues the BullMQ jobs of the records (with the caller's timeout and error mapping). */
  enqueue: (records: JobRecord[]) => Promise<void>;
  /** Jobs in one flush; reaching it flushes at once instead of at the end of the turn. @defaultValue 1000 */
  maxBatch?: number;
}

interface Waiting {
  inputs: readonly CreateJobInput[];
  resolve: (results: CreateJobResult[]) => void;
  reject: (err: unknown) => void;
}

/**
 * Creates and enqueues the jobs of concurrent submissions together. The creates asked for within one
 * event-loop turn (a busy API finishes many requests' checks per turn) become one `createMany`
 * pipeline and one BullMQ `addBulk`, instead of two round trips and two script runs per request.
 * Each caller gets its own results in its own order, and idempotency stays per job (the create
 * script decides each key atomically, whichever batch it is in). An error of a shared step reaches
 * every caller of the batch, as it would have reached each of them alone: their records stay
 * `queued` and a repeat with the same idempotency key enqueues them again.
 */
export class JobCreateBatcher {
  #waiting: Waiting[] = [];
  #size = 0;
  #scheduled = false;
  readonly #maxBatch: number;

  constructor(private readonly options: JobCreateBatcherOptions) {
    this.#maxBatch = options.maxBatch ?? 1000;
  }

  /** Writes the records (see `JobStore.createMany`) and enqueues the new and still-queued ones. */
  create(inputs: readonly CreateJobInput[]): Promise<CreateJobResult[]> {
    if (inputs.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.#waiting.push({ inputs, resolve, reject });
      this.#size += inputs.length;
      if (this.#size >= this.#maxBatch) this.#flush();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        // After the I/O callbacks of this turn: every request they brought this far joins.
        setImmediate(() => {
          this.#scheduled = false;
          this.#flush();
        });
      }
    });
  }

  #flush(): void {
    const batch = this.#waiting;
    if (batch.length === 0) return;
    this.#waiting = [];
    this.#size = 0;
    void this.#run(batch);
  }

  async #run(batch: Waiting[]): Promise<void> {
    try {
      const results = await this.options.store.createMany(batch.flatMap((w) => w.inputs));
      // New jobs, and the still-queued job a repeated key names (re-adding is a no-op in BullMQ, and
      // the repair when a crash fell between record and enqueue). Once per id.
      const toEnqueue = new Map<string, JobRecord>();
      for (const r of results) {
        if (r.outcome === 'created' || (r.outcome === 'existing' && r.record.status === 'queued'))
          toEnqueue.set(r.record.id, r.record);
      }
      await this.options.enqueue([...toEnqueue.values()]);
      let offset = 0;
      for (const w of batch) {
        w.resolve(results.slice(offset, offset + w.inputs.length));
        offset += w.inputs.length;
      }
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  }
}
