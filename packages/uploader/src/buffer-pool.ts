import { AbortError } from '@mediaferry/core';
import type { MemoryBudget } from './memory-budget.js';

export interface BufferPoolOptions {
  /** Buffers the pool may hold at once (engine: parallelism + 1). */
  capacity: number;
  /**
   * Allocates a buffer; the engine uses plain `Buffer.allocUnsafeSlow` (never from Node's shared slab).
   * @defaultValue `(size) => Buffer.allocUnsafeSlow(size)`
   */
  allocate?: (size: number) => Uint8Array;
  /**
   * Where the memory comes from instead of `allocate`: the worker's shared budget. A buffer is then
   * obtained from it (waiting while other uploads hold the budget) and given back when dropped or drained,
   * or at once on release when another upload waits for budget.
   */
  budget?: MemoryBudget;
}

interface Waiter {
  resolve: (buffer: Uint8Array) => void;
  reject: (err: unknown) => void;
  size: number;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/**
 * At most `capacity` buffers exist at any time, each handed out to one holder: memory is bounded by
 * `capacity × largest size asked` whatever the source size, and `acquire` waits (that is the
 * backpressure that reaches the source). Buffers are reused; one too small for a request is dropped and
 * replaced, so growing part sizes never keep the old ones around.
 */
export class BufferPool {
  readonly capacity: number;
  readonly #allocate: (size: number) => Uint8Array;
  readonly #budget: MemoryBudget | undefined;
  /** This pool's identity as a holder of budget buffers. */
  readonly #holder = {};
  readonly #free: Uint8Array[] = [];
  readonly #waiters: Waiter[] = [];
  #outstanding = 0;
  #allocatedBytes = 0;
  #peakAllocatedBytes = 0;

  constructor(options: BufferPoolOptions) {
    if (!Number.isInteger(options.capacity) || options.capacity < 1) {
      throw new RangeError(`buffer pool capacity must be a positive integer, got ${options.capacity}`);
    }
    this.capacity = options.capacity;
    this.#allocate = options.allocate ?? ((size) => Buffer.allocUnsafeSlow(size));
    this.#budget = options.budget;
  }

  /** Bytes currently allocated by the pool (free + handed out). */
  get allocatedBytes(): number {
    return this.#allocatedBytes;
  }

  /** Highest `allocatedBytes` seen. */
  get peakAllocatedBytes(): number {
    return this.#peakAllocatedBytes;
  }

  /** Buffers handed out and not yet released. */
  get outstanding(): number {
    return this.#outstanding;
  }

  /** A buffer of at least `size` bytes (exactly `size` when newly allocated); waits while all are in use. */
  acquire(size: number, signal?: AbortSignal): Promise<Uint8Array> {
    if (signal?.aborted)
      return Promise.reject(new AbortError('buffer wait aborted', { cause: signal.reason }));
    if (this.#outstanding < this.capacity) return this.#take(size, signal);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        size,
        signal,
        onAbort: () => {
          const i = this.#waiters.indexOf(waiter);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(new AbortError('buffer wait aborted', { cause: signal?.reason }));
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Gives a buffer back; the next waiter (if any) gets it. */
  release(buffer: Uint8Array): void {
    if (this.#outstanding <= 0) throw new Error('BufferPool.release without a matching acquire');
    this.#outstanding--;
    const waiter = this.#waiters.shift();
    if (!waiter && this.#budget && this.#budget.waiting > 0) {
      this.#giveBack(buffer); // another upload needs the memory more than our spare slot
      return;
    }
    this.#free.push(buffer);
    if (waiter) {
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      this.#take(waiter.size, waiter.signal).then(waiter.resolve, waiter.reject);
    }
  }

  /** Drops the free buffers (they are garbage once the holders release theirs). */
  drain(): void {
    for (const b of this.#free.splice(0)) this.#giveBack(b);
  }

  #giveBack(buffer: Uint8Array): void {
    this.#allocatedBytes -= buffer.byteLength;
    this.#budget?.release(buffer, this.#holder);
  }

  /** Takes a slot (the caller checked one is free), then a buffer: a free one that fits, or a new one. */
  async #take(size: number, signal: AbortSignal | undefined): Promise<Uint8Array> {
    this.#outstanding++;
    const fit = this.#free.findIndex((b) => b.byteLength >= size);
    if (fit >= 0) return this.#free.splice(fit, 1)[0]!;
    // Too small for this request: drop one so the count of buffers never exceeds the capacity.
    const dropped = this.#free.pop();
    if (dropped) this.#giveBack(dropped);
    let buffer: Uint8Array;
    try {
      buffer = this.#budget ? await this.#budget.acquire(size, signal, this.#holder) : this.#allocate(size);
    } catch (err) {
      this.#outstanding--;
      throw err;
    }
    this.#allocatedBytes += buffer.byteLength;
    this.#peakAllocatedBytes = Math.max(this.#peakAllocatedBytes, this.#allocatedBytes);
    return buffer;
  }
}
