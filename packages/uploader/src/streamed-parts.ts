import type { RangeReader, Source } from '@mediaferry/core';
import type { MemoryBudget } from './memory-budget.js';
import { type PartPlan, partAt, partCount } from './part-planner.js';
import { StreamedPartBody } from './streamed-part-body.js';

/** A part ready for an upload loop; `release` gives its memory back once it is recorded (or abandoned). */
export interface ReadyPart {
  partNumber: number;
  offset: number;
  size: number;
  body: Uint8Array | StreamedPartBody;
  release(): void;
}

export interface StreamedPartsOptions {
  source: Source & Required<Pick<Source, 'openRanges'>>;
  plan: PartPlan & { kind: 'fixed' };
  fingerprint: string;
  budget: MemoryBudget;
  chunkBytes: number;
  /** Parts holding memory at once (the parts in flight): the producer waits for one to be released. */
  slots: number;
  /** Parts already on the server: skipped. */
  done: ReadonlyMap<number, number>;
  signal: AbortSignal;
  onRead?: (bytes: number) => void;
}

/** Budget one streamed part takes while in flight: two chunks (or the part itself, when smaller). */
export function streamedPartMemory(plan: PartPlan & { kind: 'fixed' }, chunkBytes: number): number {
  return 2 * Math.max(1, Math.min(chunkBytes, plan.partSize, plan.totalSize));
}

/**
 * Parts of a re-readable source (a local file), in order: nothing is read here; each part gets its two
 * chunks of memory from the budget (waiting while the worker's other uploads hold it) and is read while
 * it is sent. One range reader (one descriptor) serves every part; it is closed with `close()`.
 */
export class StreamedParts {
  readonly #o: StreamedPartsOptions;
  #reader: Promise<RangeReader> | null = null;
  #held = 0;
  #slotFreed: (() => void) | null = null;
  /** This upload as a holder of budget buffers. */
  readonly #holder = {};

  constructor(options: StreamedPartsOptions) {
    this.#o = options;
  }

  async *parts(): AsyncGenerator<ReadyPart, void, undefined> {
    const { plan, budget, done, signal, source, fingerprint } = this.#o;
    const memorySize = streamedPartMemory(plan, this.#o.chunkBytes);
    this.#reader ??= source.openRanges({ expectedFingerprint: fingerprint, signal });
    const reader = await this.#reader;
    const count = partCount(plan) ?? 0;
    for (let partNumber = 1; partNumber <= count; partNumber++) {
      if (done.has(partNumber)) continue;
      const { offset, size } = partAt(plan, partNumber);
      while (this.#held >= this.#o.slots) {
        await new Promise<void>((resolve) => {
          this.#slotFreed = resolve;
        });
        signal.throwIfAborted();
      }
      const memory = await budget.acquire(memorySize, signal, this.#holder);
      this.#held++;
      let released = false;
      const counting: RangeReader = {
        readAt: async (target, position, s) => {
          const n = await reader.readAt(target, position, s);
          this.#o.onRead?.(n);
          return n;
        },
        checkUnchanged: () => reader.checkUnchanged(),
        close: () => reader.close(),
      };
      yield {
        partNumber,
        offset,
        size,
        body: new StreamedPartBody({ reader: counting, offset, size, memory }),
        release: () => {
          if (released) return;
          released = true;
          budget.release(memory, this.#holder);
          this.#held--;
          const freed = this.#slotFreed;
          this.#slotFreed = null;
          freed?.();
        },
      };
    }
  }

  /** Closes the range reader. Safe to call twice. */
  async close(): Promise<void> {
    const reader = this.#reader;
    this.#reader = null;
    await reader?.then((r) => r.close()).catch(() => {});
  }
}
