/** Why a running upload was stopped: each leads to a different ending. */
export type StopReason =
  /** The job was canceled (API): abort the multipart upload, drop the checkpoint. */
  | 'cancel'
  /** The worker shuts down: keep the checkpoint, hand the job back without spending an attempt. */
  | 'shutdown'
  /** BullMQ could not renew this job's lock: another worker may run it now; stop touching it. */
  | 'lock-lost';

interface Entry {
  controller: AbortController;
  reason: StopReason | undefined;
}

/** The uploads this process runs, by job id, each with the controller that stops it. */
export class RunningJobs {
  readonly #jobs = new Map<string, Entry>();

  /** Registers a job before it starts, so a cancel arriving at any moment after finds it. */
  add(jobId: string): AbortSignal {
    const entry: Entry = { controller: new AbortController(), reason: undefined };
    this.#jobs.set(jobId, entry);
    return entry.controller.signal;
  }

  delete(jobId: string): void {
    this.#jobs.delete(jobId);
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

  stopAll(reason: StopReason): void {
    for (const id of this.#jobs.keys()) this.stop(id, reason);
  }

  reason(jobId: string): StopReason | undefined {
    return this.#jobs.get(jobId)?.reason;
  }

  get size(): number {
    return this.#jobs.size;
  }
}
