import {
  AbortError,
  SourceChangedError,
  SourceProtocolError,
  type SourceReader,
  SourceTooLargeError,
  SourceUnavailableError,
  throwIfAborted,
} from '@mediaferry/core';
import type { Dispatcher } from 'undici';
import { discardBody } from './url-request.js';
import { requestError } from './url-response.js';

type Body = Dispatcher.ResponseData['body'];

export interface UrlReaderOptions {
  body: Body;
  /** Offset of the body's first byte in the source. */
  bodyStart: number;
  /** Size of the whole source when known (Content-Length / Content-Range total). */
  total: number | null;
  maxBytes: number;
  /**
   * The size the source had when the upload started, for a body that announces no length of its own
   * (chunked): more bytes than that means the content changed. @defaultValue null (no bound)
   */
  knownSize?: number | null;
  description: string;
  /** The open() signal: stays attached to the request for the reader's lifetime. */
  signal?: AbortSignal;
}

/**
 * Pulls the response body only when `read()` asks: undici pauses the socket once its small buffer is full,
 * so backpressure reaches the server. A chunk larger than the caller's buffer is kept as a view (no copy)
 * for the next read.
 */
export class UrlReader implements SourceReader {
  readonly #body: Body;
  readonly #chunks: AsyncIterator<Buffer>;
  readonly #total: number | null;
  readonly #maxBytes: number;
  readonly #knownSize: number | null;
  readonly #description: string;
  readonly #signal: AbortSignal | undefined;
  #position: number;
  /** Offset just past the last byte received from the network (position + pending bytes). */
  #received: number;
  #pending: Uint8Array | null = null;
  #ended = false;
  /** A failed body cannot be read further: every later read repeats the first error. */
  #failure: Error | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: UrlReaderOptions) {
    this.#body = options.body;
    this.#chunks = options.body[Symbol.asyncIterator]();
    this.#total = options.total;
    this.#maxBytes = options.maxBytes;
    this.#knownSize = options.knownSize ?? null;
    this.#description = options.description;
    this.#signal = options.signal;
    this.#position = options.bodyStart;
    this.#received = options.bodyStart;
  }

  get position(): number {
    return this.#position;
  }

  async read(target: Uint8Array, signal?: AbortSignal): Promise<number> {
    if (this.#closing) throw new Error('read() after close()');
    if (this.#failure) throw this.#failure;
    throwIfAborted(signal);
    let filled = 0;
    try {
      while (filled < target.length) {
        const chunk = await this.#take(target.length - filled, signal);
        if (chunk === null) break;
        target.set(chunk, filled);
        filled += chunk.length;
      }
    } catch (err) {
      this.#failure = err as Error;
      throw err;
    }
    this.#position += filled;
    return filled;
  }

  /**
   * Drops the next `count` bytes: used when a server ignored `Range` and sent the body from byte 0.
   * Those bytes are never returned. A body that ends first means the content is shorter than before.
   */
  async skip(count: number, signal?: AbortSignal): Promise<void> {
    let left = count;
    while (left > 0) {
      const chunk = await this.#take(left, signal);
      if (chunk === null) {
        throw new SourceChangedError(`${this.#description} is shorter than the resume position`);
      }
      left -= chunk.length;
      this.#position += chunk.length;
    }
  }

  /** Up to `max` bytes: the pending chunk's head, else the next chunk from the network; null at the end. */
  async #take(max: number, signal: AbortSignal | undefined): Promise<Uint8Array | null> {
    if (this.#pending === null || this.#pending.length === 0) {
      // Everything announced has arrived: done, without waiting on (or for) the body's end.
      if (this.#total !== null && this.#received >= this.#total) this.#ended = true;
      this.#pending = this.#ended ? null : await this.#nextChunk(signal);
      if (this.#pending === null) return null;
    }
    const piece = this.#pending.length <= max ? this.#pending : this.#pending.subarray(0, max);
    this.#pending = this.#pending.length <= max ? null : this.#pending.subarray(max);
    return piece;
  }

  async #nextChunk(signal: AbortSignal | undefined): Promise<Uint8Array | null> {
    let result: IteratorResult<Buffer>;
    try {
      result = await this.#raceAbort(this.#chunks.next(), signal);
    } catch (err) {
      discardBody(this.#body);
      throw requestError(err, this.#description, signal?.aborted ? signal : this.#signal);
    }
    if (result.done) {
      this.#ended = true;
      if (this.#total !== null && this.#received !== this.#total) {
        throw new SourceUnavailableError(`${this.#description} ended early at byte ${this.#received}`, {
          details: { reason: 'PREMATURE_END' },
        });
      }
      return null;
    }
    this.#received += result.value.length;
    if (this.#received > this.#maxBytes) {
      discardBody(this.#body);
      throw new SourceTooLargeError(`${this.#description} is larger than ${this.#maxBytes} bytes`, {
        details: { maxBytes: this.#maxBytes },
      });
    }
    if (this.#total !== null && this.#received > this.#total) {
      discardBody(this.#body);
      throw new SourceProtocolError(`${this.#description} sent more bytes than announced`);
    }
    if (this.#knownSize !== null && this.#received > this.#knownSize) {
      discardBody(this.#body);
      throw new SourceChangedError(`${this.#description} is now longer than its ${this.#knownSize} bytes`);
    }
    return result.value;
  }

  /** A per-read signal ends the whole response: a half-read body cannot be picked up again. */
  #raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    if (!signal) return promise;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        discardBody(this.#body);
        reject(new AbortError('The operation was aborted', { cause: signal.reason }));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      promise.then(
        (v) => {
          signal.removeEventListener('abort', onAbort);
          resolve(v);
        },
        (e: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      );
    });
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#pending = null;
      discardBody(this.#body);
    })();
    return this.#closing;
  }
}
