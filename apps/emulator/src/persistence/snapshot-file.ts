import { open, readFile, rename, unlink } from 'node:fs/promises';
import type { Logger } from 'pino';

export interface SnapshotWriterOptions {
  /** Least time between two writes: changes within it share one write. @defaultValue 100 */
  intervalMs?: number;
}

/**
 * The wait before a write is also at least this many times the last snapshot's main-thread cost
 * (collect + stringify), so a large state costs the event loop at most ~1/20 of its time.
 */
const COST_FACTOR = 20;

/** What to write, and what to do once it is on disk. */
export interface Snapshot {
  json: unknown;
  /** Called after the file is renamed into place (not when the write failed). */
  committed?: () => void;
}

/** Reads a snapshot written by {@link SnapshotWriter}; undefined when there is none yet. */
export async function readSnapshot(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${(err as Error).message}): fix or remove it`);
  }
}

/**
 * Keeps `file` equal to `collect().json`, written whole as JSON to `<file>.tmp`, fsynced, then renamed over
 * `file` — so a crash at any moment leaves either the previous or the new snapshot, never a torn one.
 * `changed()` only marks the state dirty: writes are batched (at most one per `intervalMs`, or per 20×
 * the last snapshot's CPU cost when larger; one in flight), so a request never waits for the disk and a
 * burst of changes costs one write. A crash loses at most the last interval; `flush()` (called on close)
 * writes what is pending.
 */
export class SnapshotWriter {
  readonly #file: string;
  readonly #collect: () => Snapshot;
  readonly #logger: Logger;
  readonly #intervalMs: number;
  #dirty = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> | undefined;
  #lastCostMs = 0;

  constructor(file: string, collect: () => Snapshot, logger: Logger, options: SnapshotWriterOptions = {}) {
    this.#file = file;
    this.#collect = collect;
    this.#logger = logger;
    this.#intervalMs = options.intervalMs ?? 100;
  }

  changed(): void {
    if (this.#closed) return;
    this.#dirty = true;
    if (this.#timer || this.#writing) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        void this.#write();
      },
      Math.max(this.#intervalMs, COST_FACTOR * this.#lastCostMs),
    );
    this.#timer.unref();
  }

  /** Writes pending changes now; resolves once the snapshot on disk is current. */
  async flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#writing) await this.#writing;
    if (this.#dirty) await this.#write();
  }

  /** Flushes, then ignores further changes (the emulator is stopping). */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #write(): Promise<void> {
    if (this.#writing) return this.#writing;
    this.#dirty = false;
    const started = performance.now();
    const { json, committed } = this.#collect();
    const text = JSON.stringify(json);
    this.#lastCostMs = performance.now() - started;
    this.#writing = this.#writeFile(text)
      .then(() => committed?.())
      .catch((err) => {
        this.#dirty = true; // try again with the next change or flush
        this.#logger.error({ err, file: this.#file }, 'emulator: could not write its state snapshot');
      })
      .finally(() => {
        this.#writing = undefined;
        if (this.#dirty && !this.#timer) this.changed();
      });
    return this.#writing;
  }

  async #writeFile(text: string): Promise<void> {
    const tmp = `${this.#file}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, this.#file);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
  }
}
