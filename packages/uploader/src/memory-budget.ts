import { AbortError, MemoryBudgetError } from '@mediaferry/core';
import { collectGarbage } from './collect-garbage.js';

const MiB = 1024 ** 2;

export interface MemoryBudgetOptions {
  /**
   * Bytes of part buffers (whole parts, or the chunks of streamed parts) that may exist at once, over
   * every upload sharing this budget (a worker's jobs). @defaultValue 64 MiB (`WORKER_MEMORY_BUDGET_BYTES`)
   */
  limitBytes?: number;
  /**
   * Frees the buffers this budget dropped, once enough of them wait for the garbage collector or the
   * budget went idle, so that RSS goes back down instead of waiting for V8 to notice.
   * @defaultValue a major GC through V8's `gc` (obtained without exposing it globally); null: never
   */
  collect?: (() => void) | null;
  /** Dropped bytes that trigger `collect` while uploads run. @defaultValue 32 MiB */
  collectEveryBytes?: number;
}

interface Waiter {
  size: number;
  holder: object | undefined;
  resolve: (buffer: Uint8Array) => void;
  reject: (err: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/**
 * The one pool every part buffer of a worker comes from. `in use + free ≤ limit` at all times: a request
 * that does not fit waits instead of allocating. Waiters are served one at a time, the one whose holder
 * (an upload) holds the fewest buffers first, then in order of arrival: an upload's parts in flight
 * shrink towards one while other uploads wait, and a large request is not overtaken by smaller ones; a request larger than
 * the whole limit can never be served and is refused (`MemoryBudgetError`). Released buffers are kept
 * for reuse (same size) while uploads run; when nothing is in use any more they are all dropped and the
 * garbage collector is asked to free them, so an idle worker returns to its baseline RSS.
 */
export class MemoryBudget {
  readonly limitBytes: number;
  readonly #collect: (() => void) | null;
  readonly #collectEvery: number;
  readonly #free: Uint8Array[] = [];
  readonly #waiters: Waiter[] = [];
  #inUse = 0;
  #freeBytes = 0;
  #peakInUse = 0;
  #dropped = 0;
  #idleTimer: NodeJS.Timeout | undefined;
  /** Buffers held per holder (an upload): the waiter of the holder with fewest goes first. */
  readonly #held = new WeakMap<object, number>();

  constructor(options: MemoryBudgetOptions = {}) {
    const limit = options.limitBytes ?? 64 * MiB;
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new RangeError(`memory budget must be a positive integer of bytes, got ${limit}`);
    }
    this.limitBytes = limit;
    this.#collect = options.collect === undefined ? collectGarbage : options.collect;
    this.#collectEvery = options.collectEveryBytes ?? 32 * MiB;
  }

  /** Bytes handed out and not yet released. */
  get inUseBytes(): number {
    return this.#inUse;
  }

  /** Bytes allocated and kept for reuse. */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /** Highest `inUseBytes` seen. */
  get peakInUseBytes(): number {
    return this.#peakInUse;
  }

  /** Requests waiting for budget. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Throws `MemoryBudgetError` when `size` bytes could never be served; `what` names them in the message. */
  assertFits(size: number, what: string): void {
    if (size <= this.limitBytes) return;
    throw new MemoryBudgetError(
      `${what} needs ${size} bytes of buffer, more than the worker's whole memory budget of ${this.limitBytes} bytes; ` +
        'raise WORKER_MEMORY_BUDGET_BYTES or lower UPLOAD_PART_SIZE',
      { details: { neededBytes: size, budgetBytes: this.limitBytes } },
    );
  }

  /**
   * A buffer of exactly `size` bytes, once the budget has room for it. `holder` (an upload) orders the
   * waiters; give the same one to `release`.
   */
  acquire(size: number, signal?: AbortSignal, holder?: object): Promise<Uint8Array> {
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`invalid buffer size ${size}`);
    this.assertFits(size, 'a part');
    if (signal?.aborted)
      return Promise.reject(new AbortError('buffer wait aborted', { cause: signal.reason }));
    if (this.#waiters.length === 0) {
      const buffer = this.#tryTake(size, holder);
      if (buffer) return Promise.resolve(buffer);
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        size,
        holder,
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = this.#waiters.indexOf(waiter);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(new AbortError('buffer wait aborted', { cause: signal?.reason }));
          this.#serve(); // the head may have been what held smaller requests back
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Gives a buffer from `acquire` back. */
  release(buffer: Uint8Array, holder?: object): void {
    const size = buffer.byteLength;
    if (size > this.#inUse) throw new Error('MemoryBudget.release without a matching acquire');
    this.#inUse -= size;
    if (holder) this.#held.set(holder, Math.max(0, (this.#held.get(holder) ?? 0) - 1));
    this.#free.push(buffer);
    this.#freeBytes += size;
    this.#serve();
    if (this.#inUse === 0 && this.#waiters.length === 0) this.#scheduleIdle();
  }

  /** Drops every free buffer (and collects them). */
  trim(): void {
    this.#drop(this.#freeBytes);
    this.#maybeCollect(true);
  }

  #serve(): void {
    while (this.#waiters.length > 0) {
      let next = 0;
      for (let i = 1; i < this.#waiters.length; i++) {
        if (this.#heldBy(this.#waiters[i]!.holder) < this.#heldBy(this.#waiters[next]!.holder)) next = i;
      }
      const head = this.#waiters[next]!;
      const buffer = this.#tryTake(head.size, head.holder);
      if (!buffer) return;
      this.#waiters.splice(next, 1);
      head.signal?.removeEventListener('abort', head.onAbort);
      head.resolve(buffer);
    }
  }

  #heldBy(holder: object | undefined): number {
    return holder ? (this.#held.get(holder) ?? 0) : 0;
  }

  #tryTake(size: number, holder: object | undefined): Uint8Array | null {
    if (this.#inUse + size > this.limitBytes) return null;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    let buffer: Uint8Array | undefined;
    const fit = this.#free.findIndex((b) => b.byteLength === size);
    if (fit >= 0) {
      buffer = this.#free.splice(fit, 1)[0]!;
      this.#freeBytes -= size;
    } else {
      // Make room among the free buffers of other sizes, oldest first, then allocate.
      this.#drop(this.#inUse + this.#freeBytes + size - this.limitBytes);
      buffer = Buffer.allocUnsafeSlow(size);
      this.#maybeCollect(false);
    }
    this.#inUse += size;
    if (holder) this.#held.set(holder, this.#heldBy(holder) + 1);
    this.#peakInUse = Math.max(this.#peakInUse, this.#inUse);
    return buffer;
  }

  /** Drops free buffers until at least `bytes` are gone (or none is left). */
  #drop(bytes: number): void {
    let dropped = 0;
    while (dropped < bytes && this.#free.length > 0) {
      const b = this.#free.shift()!;
      dropped += b.byteLength;
    }
    this.#freeBytes -= dropped;
    this.#dropped += dropped;
  }

  #maybeCollect(force: boolean): void {
    if (!this.#collect || this.#dropped === 0) return;
    if (!force && this.#dropped < this.#collectEvery) return;
    this.#dropped = 0;
    this.#collect();
  }

  /** Nothing in use: drop the free buffers soon (another job starting right away would reuse them). */
  #scheduleIdle(): void {
    if (this.#idleTimer) return;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#inUse === 0) this.trim();
    }, 1000);
    this.#idleTimer.unref();
  }
}
