import type { JobProgress, JobStatus } from '@mediaferry/client';
import cliProgress from 'cli-progress';
import { etaSeconds, formatBytes, formatDuration, formatProgress } from './job-format.js';

/** Shows a job's progress while `--wait` follows it. */
export interface ProgressDisplay {
  progress(progress: JobProgress): void;
  status(status: JobStatus): void;
  /** Renders the last state and releases the terminal. Safe to call twice. */
  stop(): void;
}

export interface ProgressDisplayOptions {
  stream: NodeJS.WritableStream & { isTTY?: boolean };
  /** Plain lines are written at most this often (status changes always at once). @defaultValue 1_000 */
  lineIntervalMs?: number;
}

/** A live bar (bytes, rate, ETA) on a terminal; one plain line per second otherwise (logs, pipes, CI). */
export function createProgressDisplay(options: ProgressDisplayOptions): ProgressDisplay {
  return options.stream.isTTY ? new BarDisplay(options.stream) : new LineDisplay(options);
}

const PERMILLE = 1000;

class BarDisplay implements ProgressDisplay {
  readonly #bar: cliProgress.SingleBar;
  #status: JobStatus = 'queued';
  #last: JobProgress | undefined;
  #stopped = false;

  constructor(stream: NodeJS.WritableStream) {
    this.#bar = new cliProgress.SingleBar({
      stream,
      format: '{status} [{bar}] {pct} | {bytes} | {rate} | ETA {eta}',
      barsize: 30,
      hideCursor: true,
      fps: 5,
      barCompleteChar: '=',
      barIncompleteChar: '-',
    });
    this.#bar.start(PERMILLE, 0, this.#payload());
  }

  #payload(): Record<string, string> {
    const p = this.#last;
    const eta = p ? etaSeconds(p) : undefined;
    return {
      status: this.#status.padEnd(9),
      pct: p?.percent == null ? '  ?  ' : `${p.percent.toFixed(1).padStart(5)}%`,
      bytes: p
        ? `${formatBytes(p.uploadedBytes)} / ${p.totalBytes === null ? '?' : formatBytes(p.totalBytes)}`
        : '-',
      rate: p && p.bytesPerSecond > 0 ? `${formatBytes(p.bytesPerSecond)}/s` : '-',
      eta: eta === undefined ? '-' : formatDuration(eta),
    };
  }

  progress(progress: JobProgress): void {
    this.#last = progress;
    if (!this.#stopped) this.#bar.update(Math.round((progress.percent ?? 0) * 10), this.#payload());
  }

  status(status: JobStatus): void {
    this.#status = status;
    if (!this.#stopped) this.#bar.update(this.#payload());
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#bar.update(this.#payload());
    this.#bar.stop();
  }
}

class LineDisplay implements ProgressDisplay {
  readonly #stream: NodeJS.WritableStream;
  readonly #timer: NodeJS.Timeout;
  #status: JobStatus | undefined;
  #last: JobProgress | undefined;
  #printed = '';

  constructor(options: ProgressDisplayOptions) {
    this.#stream = options.stream;
    this.#timer = setInterval(() => this.#print(), options.lineIntervalMs ?? 1_000);
    this.#timer.unref();
  }

  #print(): void {
    if (!this.#status) return;
    const line = `${this.#status}: ${this.#last ? formatProgress(this.#last) : '-'}`;
    if (line === this.#printed) return;
    this.#printed = line;
    this.#stream.write(`${line}\n`);
  }

  progress(progress: JobProgress): void {
    this.#last = progress;
  }

  status(status: JobStatus): void {
    if (status === this.#status) return;
    this.#status = status;
    this.#print();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#print();
  }
}
