/** Why a running upload was stopped: each leads to a different ending. */
export type StopReason =
  /** The job was canceled (API): abort the multipart upload, drop the checkpoint. */
  | 'cancel'
  /** The worker shuts down: keep the checkpoint, hand the job back without spending an attempt. */
  | 'shutdown'
  /** BullMQ could not renew this job's lock: another worker may run it now; stop touching it. */
  | 'lock-lost';

/** One run of one job in this process. */
export interface RunningJob {
  readonly signal: AbortSignal;
  /** Why it was stopped; undefined while it may go on. */
  readonly reason: StopReason | undefined;
}

interface Entry extends RunningJob {
  controller: AbortController;
  reason: StopReason | undefined;
}

/** The uploads this process runs, by job id, each with the controller that stops it. */
export class RunningJobs {
  readonly #jobs = new Map<string, Entry>();
  #stoppingAll: StopReason | undefined;

  /**
   * Registers a run before it starts, so a cancel arriving at any moment after finds it. After
   * `stopAll()` (shutdown) a new run starts stopped: a job BullMQ handed over while the worker was
   * closing goes straight back. The same job may be registered again while a stale run of it is
   * still unwinding (its lock expired, this worker took it again): the newest run is the one found.
   */
  add(jobId: string): RunningJob {
    const controller = new AbortController();
    const entry: Entry = { controller, signal: controller.signal, reason: undefined };
    this.#jobs.set(jobId, entry);
    if (this.#stoppingAll) this.stop(jobId, this.#stoppingAll);
    return entry;
  }

  /** Forgets a run; a newer run of the same job (see `add`) stays registered. */
  delete(jobId: string, run: RunningJob): void {
    if (this.#jobs.get(jobId) === run) this.#jobs.delete(jobId);
  }

  /** Stops one job; the first reason wins. True when the job runs here. */
  stop(jobId: string, reason: StopReason): boolean {
    const entry = this.#jobs.get(jobId);
    if (!entry) return false;
    if (!entry.reason) {
      entry.reason = reason;
      entry.controller.abort(new Error(`stopped: ${reason}`));
    }
    return true;
  }

  /** Stops every run, and every run registered from now on. */
  stopAll(reason: StopReason): void {
    this.#stoppingAll = reason;
    for (const id of this.#jobs.keys()) this.stop(id, reason);
  }

  reason(jobId: string): StopReason | undefined {
    return this.#jobs.get(jobId)?.reason;
  }

  get size(): number {
    return this.#jobs.size;
  }
}
