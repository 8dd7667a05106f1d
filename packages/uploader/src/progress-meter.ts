/** What `onProgress` receives. */
export interface UploadProgress {
  /** Bytes read from the source in this run (skipped parts are not read). */
  bytesRead: number;
  /** Bytes the server holds: skipped parts + acknowledged parts + bytes of parts in flight already sent. */
  bytesUploaded: number;
  /** Source size, or null while unknown. */
  totalBytes: number | null;
  partsDone: number;
  /** Part count, or null while unknown. */
  partsTotal: number | null;
  /** Upload rate over the last few seconds, bytes per second. */
  bytesPerSecond: number;
}

export interface ProgressMeterOptions {
  totalBytes: number | null;
  partsTotal: number | null;
  onProgress?: (progress: UploadProgress) => void;
  /** Emission period. @defaultValue 1000 */
  intervalMs?: number;
  /** Rate window. @defaultValue 5000 */
  rateWindowMs?: number;
  now?: () => number;
}

/**
 * Counts bytes and parts and emits a snapshot once per interval while the upload runs (plus once at
 * start and once at the end), so consumers that persist progress see at most one write per second
 * whatever the part size. Intra-part progress comes from `uploadPart`'s `onBytesSent`.
 */
export class ProgressMeter {
  readonly #options: ProgressMeterOptions;
  readonly #now: () => number;
  readonly #inFlight = new Map<number, number>();
  readonly #samples: { t: number; bytes: number }[] = [];
  #totalBytes: number | null;
  #partsTotal: number | null;
  #bytesRead = 0;
  #ackedBytes = 0;
  #partsDone = 0;
  #reported = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: ProgressMeterOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#totalBytes = options.totalBytes;
    this.#partsTotal = options.partsTotal;
  }

  /** Parts that were already on the server when this run started. */
  skipped(parts: number, bytes: number): void {
    this.#partsDone += parts;
    this.#ackedBytes += bytes;
  }

  read(bytes: number): void {
    this.#bytesRead += bytes;
  }

  sent(partNumber: number, sentBytes: number): void {
    this.#inFlight.set(partNumber, sentBytes);
  }

  /** A part attempt failed: its sent bytes no longer count. */
  reset(partNumber: number): void {
    this.#inFlight.delete(partNumber);
  }

  partDone(partNumber: number, size: number): void {
    this.#inFlight.delete(partNumber);
    this.#ackedBytes += size;
    this.#partsDone++;
  }

  /** Size and part count became known (end of a stream of unknown length). */
  setTotals(totalBytes: number, partsTotal: number): void {
    this.#totalBytes = totalBytes;
    this.#partsTotal = partsTotal;
  }

  snapshot(): UploadProgress {
    let inFlight = 0;
    for (const v of this.#inFlight.values()) inFlight += v;
    // Monotonic: a retried part restarts from zero, the reported figure does not go back.
    this.#reported = Math.max(this.#reported, this.#ackedBytes + inFlight);
    const t = this.#now();
    const window = this.#options.rateWindowMs ?? 5000;
    this.#samples.push({ t, bytes: this.#reported });
    while (this.#samples.length > 2 && this.#samples[0]!.t < t - window) this.#samples.shift();
    const first = this.#samples[0]!;
    const dt = t - first.t;
    return {
      bytesRead: this.#bytesRead,
      bytesUploaded: this.#reported,
      totalBytes: this.#totalBytes,
      partsDone: this.#partsDone,
      partsTotal: this.#partsTotal,
      bytesPerSecond: dt > 0 ? Math.round(((this.#reported - first.bytes) * 1000) / dt) : 0,
    };
  }

  start(): void {
    this.emit();
    if (!this.#options.onProgress) return;
    this.#timer = setInterval(() => this.emit(), this.#options.intervalMs ?? 1000);
    this.#timer.unref();
  }

  /** Stops the timer and emits the final snapshot. Safe to call twice. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#stopped) return;
    this.#stopped = true;
    this.emit();
  }

  emit(): void {
    const onProgress = this.#options.onProgress;
    if (!onProgress) return;
    try {
      onProgress(this.snapshot());
    } catch {
      // A consumer's bug must not break the upload.
    }
  }
}
