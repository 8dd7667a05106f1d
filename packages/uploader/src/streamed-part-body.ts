import {
  AbortError,
  type PartBody,
  type PartBodyPass,
  type RangeReader,
  SourceChangedError,
} from '@mediaferry/core';
import { crc64 } from '@mediaferry/crc64';

/** Chunk a streamed part is read and sent in: 1 MiB keeps socket writes large (see the aliyun body stream). */
export const DEFAULT_STREAM_CHUNK_BYTES = 1024 * 1024;

export interface StreamedPartBodyOptions {
  reader: RangeReader;
  /** Where the part starts in the source, and its size. */
  offset: number;
  size: number;
  /** Two chunks' worth of memory (from the budget): a pass reads into one half while the other is sent. */
  memory: Uint8Array;
}

/**
 * A part read from a re-readable source (a local file) in chunks while it is sent: its memory is two
 * chunks whatever the part size. The CRC-64 is computed as the chunks are read; every pass (a retry)
 * reads the range again, and a pass that reads other bytes than an earlier complete one means the
 * source changed under us (`SourceChangedError`).
 */
export class StreamedPartBody implements PartBody {
  readonly size: number;
  readonly #o: StreamedPartBodyOptions;
  readonly #halves: [Uint8Array, Uint8Array];
  /** CRC-64 of the last pass that read the whole part. */
  #crc: bigint | null = null;
  /** The read in progress of the latest pass: a new pass waits for it (the halves are shared). */
  #reading: Promise<unknown> = Promise.resolve();
  /** Closes the latest pass: only one pass reads into the halves at a time. */
  #closeLatest: (() => void) | null = null;

  constructor(options: StreamedPartBodyOptions) {
    this.#o = options;
    this.size = options.size;
    const half = options.memory.byteLength >> 1;
    if (half < 1) throw new RangeError('a streamed part needs at least two bytes of memory');
    this.#halves = [options.memory.subarray(0, half), options.memory.subarray(half, 2 * half)];
  }

  /** CRC-64 of the bytes the last complete pass read (what the server received), null before one. */
  get crc(): bigint | null {
    return this.#crc;
  }

  open(signal?: AbortSignal): PartBodyPass {
    this.#closeLatest?.(); // an earlier pass still being sent (the server answered early) stops reading
    const previous = this.#reading;
    let position = 0;
    let crc = 0n;
    let index = 0;
    let closed = false;
    const close = () => {
      closed = true;
    };
    this.#closeLatest = close;
    return {
      next: async () => {
        await previous.catch(() => {});
        if (closed) throw new AbortError('part body pass closed');
        if (position >= this.size) {
          // Every byte of the part was read: one change check covers them, before the body ends.
          await this.#o.reader.checkUnchanged();
          if (closed) throw new AbortError('part body pass closed');
          if (this.#crc !== null && this.#crc !== crc) {
            throw new SourceChangedError(
              `the bytes of the part at offset ${this.#o.offset} differ from the ones read before`,
            );
          }
          this.#crc = crc;
          return null;
        }
        const half = this.#halves[index]!;
        index ^= 1;
        const target = half.subarray(0, Math.min(half.length, this.size - position));
        const read = this.#o.reader.readAt(target, this.#o.offset + position, signal);
        this.#reading = read;
        const n = await read;
        if (closed) throw new AbortError('part body pass closed');
        if (n < target.length) {
          throw new SourceChangedError(
            `source ended at byte ${this.#o.offset + position + n}, inside a part`,
          );
        }
        crc = crc64(target, crc);
        position += n;
        return target;
      },
      close,
    };
  }
}
