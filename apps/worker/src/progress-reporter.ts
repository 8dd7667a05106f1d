import type { JobProgress } from '@mediaferry/core';
import type { JobStore } from '@mediaferry/queue';
import type { UploadProgress } from '@mediaferry/uploader';

/** The engine's progress as the Job view shows it (percent with one decimal, null while the size is unknown). */
export function toJobProgress(p: UploadProgress): JobProgress {
  const total = p.totalBytes;
  return {
    uploadedBytes: p.bytesUploaded,
    totalBytes: total,
    percent:
      total === null
        ? null
        : total === 0
          ? 100
          : Math.min(100, Math.round((p.bytesUploaded / total) * 1000) / 10),
    partsDone: p.partsDone,
    partsTotal: p.partsTotal,
    bytesPerSecond: Math.round(p.bytesPerSecond),
  };
}

/**
 * Writes a job's progress to its record at most once per `intervalMs` (the engine already emits
 * about once a second), one write at a time so they land in order; a failed write is dropped (the
 * next one carries newer numbers). Also counts source bytes for the metrics.
 */
export class ProgressReporter {
  #lastWrite = 0;
  #writing: Promise<void> = Promise.resolve();
  #bytesRead = 0;
  last: JobProgress | undefined;

  constructor(
    private readonly store: JobStore,
    private readonly jobId: string,
    private readonly intervalMs: number,
    private readonly onSourceBytes: (bytes: number) => void,
    /** The run's token (BullMQ lock token): writes of a run that lost the job are refused. */
    private readonly runner?: string,
  ) {}

  readonly update = (p: UploadProgress): void => {
    if (p.bytesRead > this.#bytesRead) {
      this.onSourceBytes(p.bytesRead - this.#bytesRead);
      this.#bytesRead = p.bytesRead;
    }
    const progress = toJobProgress(p);
    this.last = progress;
    const now = Date.now();
    // Skipped updates are not lost: the next one (about a second later) or the final transition has newer numbers.
    if (this.#lastWrite !== 0 && now - this.#lastWrite < this.intervalMs) return;
    this.#lastWrite = now;
    this.#writing = this.#writing.then(() => this.#write(progress));
  };

  /** Waits for queued writes; the last progress goes with the final transition instead. */
  async flush(): Promise<void> {
    await this.#writing;
  }

  async #write(progress: JobProgress): Promise<void> {
    try {
      await this.store.progress(this.jobId, progress, this.runner);
    } catch {
      // Redis hiccup: the next update (or the final transition) carries newer numbers.
    }
  }
}
