import {
  AbortError,
  isRetryableNetworkCode,
  MediaferryError,
  type Source,
  SourceChangedError,
  type SourceReader,
  SourceTooLargeError,
} from '@mediaferry/core';
import { type BackoffOptions, backoffDelay, sleep } from './backoff.js';
import type { BufferPool } from './buffer-pool.js';
import { partCrc64 } from './part-crc.js';
import { MAX_PARTS, type PartPlan, partAt, partCount } from './part-planner.js';

/** A part read from the source into a pool buffer; the consumer releases `buffer` when done. */
export interface ProducedPart {
  partNumber: number;
  offset: number;
  size: number;
  /** `buffer.subarray(0, size)`. */
  body: Uint8Array;
  buffer: Uint8Array;
}

export interface PartProducerOptions {
  source: Source;
  plan: PartPlan;
  fingerprint: string;
  seekable: boolean;
  pool: BufferPool;
  /** Parts already on the server (part number → size): never read again. */
  done: ReadonlyMap<number, number>;
  signal: AbortSignal;
  /** Attempts per part for failed source reads (each retry reopens the source at the right offset). */
  maxReadAttempts: number;
  backoff: BackoffOptions;
  onRead?: (bytes: number) => void;
  onRetry?: (err: unknown, attempt: number) => void;
  /**
   * Set when the source's identity cannot vouch for its bytes (it cannot seek, or it is a URL without
   * validators): the recorded CRC-64 of every part in `done`. The producer then reads from byte 0 and
   * never skips by reopening mid-stream; it checks each done part's bytes against its CRC, and after a
   * failed read re-reads the prefix from byte 0 and checks it against the CRC of what it read before.
   * A mismatch is `SourceChangedError` (details `{ recordedPart }` when a done part differs).
   */
  verifyCrcs?: ReadonlyMap<number, bigint>;
}

/** Smallest scratch area worth discarding into when skipping ahead in a non-seekable stream. */
const DISCARD_CHUNK = 256 * 1024;

function isRetryableRead(err: unknown): boolean {
  if (err instanceof MediaferryError) return err.retryable;
  return err instanceof Error && isRetryableNetworkCode((err as { code?: unknown }).code);
}

/**
 * The single producer: reads parts in order straight into pool buffers (no intermediate copies).
 * `pool.acquire` blocks while every buffer is in use, so the source is read no faster than parts are
 * uploaded. Parts already done are skipped by reopening the source at the next needed offset (file:
 * seek; URL: Range) or, for a stream that cannot seek, by reading forward.
 */
export class PartProducer {
  readonly #o: PartProducerOptions;
  #reader: SourceReader | null = null;
  /** With `verifyCrcs`: CRC-64 of the source bytes [0, #prefixEnd) read so far, in order. */
  #prefixCrc = 0n;
  #prefixEnd = 0;

  constructor(options: PartProducerOptions) {
    this.#o = options;
  }

  async *parts(): AsyncGenerator<ProducedPart, void, undefined> {
    const { plan, pool, done, signal } = this.#o;
    const count = partCount(plan);
    try {
      for (let partNumber = 1; count === null || partNumber <= count; partNumber++) {
        if (partNumber > MAX_PARTS) {
          throw new SourceTooLargeError(`source does not fit in ${MAX_PARTS} parts`);
        }
        const planned = partAt(plan, partNumber);
        const doneSize = done.get(partNumber);
        if (doneSize !== undefined) {
          if (this.#o.verifyCrcs) await this.#verifyDone(partNumber, planned.offset, doneSize);
          if (count === null && doneSize < planned.size) return; // it was the stream's last part
          continue;
        }
        const buffer = await pool.acquire(planned.size, signal);
        let filled: number;
        try {
          filled = await this.#fill(buffer.subarray(0, planned.size), planned.offset);
        } catch (err) {
          pool.release(buffer);
          throw err;
        }
        if (count !== null && filled < planned.size) {
          pool.release(buffer);
          throw new SourceChangedError(
            `source ended at byte ${planned.offset + filled}, before its announced size ${plan.kind === 'fixed' ? plan.totalSize : '?'}`,
          );
        }
        if (count === null && filled === 0 && partNumber > 1) {
          pool.release(buffer); // the stream ended exactly on a part boundary
          return;
        }
        if (plan.kind === 'growing' && planned.offset + filled > plan.maxSourceBytes) {
          pool.release(buffer);
          throw new SourceTooLargeError(`source is larger than the ${plan.maxSourceBytes}-byte limit`);
        }
        yield { partNumber, offset: planned.offset, size: filled, body: buffer.subarray(0, filled), buffer };
        if (count === null && filled < planned.size) return;
      }
    } finally {
      await this.close();
    }
  }

  /** Closes the source reader. Safe to call twice. */
  async close(): Promise<void> {
    const reader = this.#reader;
    this.#reader = null;
    await reader?.close().catch(() => {});
  }

  /** Fills `target` with the bytes at `offset`; fewer only at the end of the source. */
  async #fill(target: Uint8Array, offset: number): Promise<number> {
    const { signal } = this.#o;
    let filled = 0;
    let failures = 0;
    while (filled < target.length) {
      try {
        const reader = await this.#readerAt(offset + filled, target.subarray(filled));
        const n = await reader.read(target.subarray(filled), signal);
        if (n === 0) break;
        if (this.#o.verifyCrcs) {
          this.#prefixCrc = await partCrc64(target.subarray(filled, filled + n), this.#prefixCrc);
          this.#prefixEnd = offset + filled + n;
        }
        filled += n;
        failures = 0; // bounded by consecutive failures without progress
        this.#o.onRead?.(n);
      } catch (err) {
        if (signal.aborted) throw new AbortError('source read aborted', { cause: signal.reason });
        await this.close();
        failures++;
        if (!isRetryableRead(err) || failures >= this.#o.maxReadAttempts) throw err;
        this.#o.onRetry?.(err, failures);
        await sleep(backoffDelay(failures, this.#o.backoff), signal);
      }
    }
    return filled;
  }

  /** A reader positioned at `position`: the current one, read forward, or a new one. */
  async #readerAt(position: number, scratch: Uint8Array): Promise<SourceReader> {
    const { source, signal, fingerprint, seekable } = this.#o;
    let reader = this.#reader;
    if (reader && reader.position === position) return reader;
    if (this.#o.verifyCrcs) return await this.#reopenVerified(position, scratch);
    if (reader && !seekable && reader.position < position) {
      // Skipping forward in a stream that cannot seek: reading on is cheaper than starting over.
      const area = scratch.length >= DISCARD_CHUNK ? scratch : new Uint8Array(DISCARD_CHUNK);
      while (reader.position < position) {
        const n = await reader.read(
          area.subarray(0, Math.min(area.length, position - reader.position)),
          signal,
        );
        if (n === 0)
          throw new SourceChangedError(`source ended at byte ${reader.position}, before byte ${position}`);
      }
      return reader;
    }
    await this.close();
    reader = await source.open({ start: position, expectedFingerprint: fingerprint, signal });
    this.#reader = reader;
    return reader;
  }

  /** Reads a part that is already on the server and checks its bytes against the recorded CRC. */
  async #verifyDone(partNumber: number, offset: number, size: number): Promise<void> {
    const { pool, signal } = this.#o;
    const buffer = await pool.acquire(size, signal);
    try {
      const filled = await this.#fill(buffer.subarray(0, size), offset);
      const crc = filled === size ? await partCrc64(buffer.subarray(0, size)) : null;
      if (crc !== this.#o.verifyCrcs!.get(partNumber)) {
        throw new SourceChangedError(
          `source bytes of part ${partNumber} differ from the ones uploaded before (no validator vouches for the content)`,
          { details: { recordedPart: partNumber } },
        );
      }
    } finally {
      pool.release(buffer);
    }
  }

  /**
   * A new reader at `position` for a source whose identity cannot vouch for its bytes: reopens at 0
   * and reads the prefix again, which must have the CRC of the bytes read before, so a reopen can never
   * splice two different responses.
   */
  async #reopenVerified(position: number, scratch: Uint8Array): Promise<SourceReader> {
    const { source, signal, fingerprint } = this.#o;
    await this.close();
    const reader = await source.open({ start: 0, expectedFingerprint: fingerprint, signal });
    this.#reader = reader;
    if (position === 0) return reader;
    if (position !== this.#prefixEnd)
      throw new Error(`producer at ${position}, prefix read to ${this.#prefixEnd}`);
    const area = scratch.length >= DISCARD_CHUNK ? scratch : new Uint8Array(DISCARD_CHUNK);
    let crc = 0n;
    while (reader.position < position) {
      const n = await reader.read(
        area.subarray(0, Math.min(area.length, position - reader.position)),
        signal,
      );
      if (n === 0) break;
      crc = await partCrc64(area.subarray(0, n), crc);
    }
    if (reader.position !== position || crc !== this.#prefixCrc) {
      throw new SourceChangedError(
        `source changed while reading it: the first ${position} bytes read again differ (no validator vouches for the content)`,
      );
    }
    return reader;
  }
}
