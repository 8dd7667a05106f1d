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
import { DEFAULT_YOUNG_GC_EVERY_BYTES, youngGarbage } from './young-gc.js';

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
  /**
   * Runs a young-generation GC after this many body bytes (process-wide count), which frees the
   * per-socket-read buffers long before V8's external-memory limit would trigger a full GC; null turns
   * it off. See `young-gc.ts`. @defaultValue 4 MiB
   */
  youngGcEveryBytes?: number | null;
}

/** One `read()` waiting for network bytes. */
interface PendingRead {
  target: Uint8Array;
  filled: number;
  resolve: (filled: number) => void;
  reject: (err: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/** Scratch size for `skip()` (bytes that are dropped, so their copy does not matter). */
const SKIP_CHUNK = 64 * 1024;

/**
 * Pulls the response body only while a `read()` is waiting: the body flows straight into the caller's
 * buffer ('data' events, one copy, no promise per network chunk) and is paused as soon as that buffer is
 * full, so undici's small queue fills, it stops reading the socket, and backpressure reaches the server.
 * The part of a chunk that did not fit is kept as a view (no copy) for the next read.
 */
export class UrlReader implements SourceReader {
  readonly #body: Body;
  readonly #total: number | null;
  readonly #maxBytes: number;
  readonly #knownSize: number | null;
  readonly #description: string;
  readonly #signal: AbortSignal | undefined;
  readonly #youngGcEveryBytes: number | null;
  #position: number;
  /** Offset just past the last byte received from the network (position + pending bytes). */
  #received: number;
  #pending: Uint8Array | null = null;
  #ended = false;
  #listening = false;
  #waiting: PendingRead | null = null;
  /** What the network or a limit check said while no read was waiting; thrown by the next read. */
  #networkError: Error | undefined;
  /** A failed body cannot be read further: every later read repeats the first error. */
  #failure: Error | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: UrlReaderOptions) {
    this.#body = options.body;
    this.#total = options.total;
    this.#maxBytes = options.maxBytes;
    this.#knownSize = options.knownSize ?? null;
    this.#description = options.description;
    this.#signal = options.signal;
    this.#youngGcEveryBytes =
      options.youngGcEveryBytes === undefined ? DEFAULT_YOUNG_GC_EVERY_BYTES : options.youngGcEveryBytes;
    this.#position = options.bodyStart;
    this.#received = options.bodyStart;
  }

  get position(): number {
    return this.#position;
  }

  async read(target: Uint8Array, signal?: AbortSignal): Promise<number> {
    if (this.#closing) throw new Error('read() after close()');
    if (this.#failure) throw this.#failure;
    if (this.#waiting) throw new Error('read() while another read() is pending');
    throwIfAborted(signal);
    let filled = this.#takePending(target);
    if (filled < target.length && !this.#exhausted()) {
      try {
        filled = await this.#pull(target, filled, signal);
      } catch (err) {
        this.#failure = err as Error;
        throw err;
      }
    }
    this.#position += filled;
    return filled;
  }

  /**
   * Drops the next `count` bytes: used when a server ignored `Range` and sent the body from byte 0.
   * Those bytes are never returned. A body that ends first means the content is shorter than before.
   */
  async skip(count: number, signal?: AbortSignal): Promise<void> {
    const scratch = new Uint8Array(Math.min(count, SKIP_CHUNK));
    for (let left = count; left > 0; ) {
      const n = await this.read(scratch.subarray(0, Math.min(left, scratch.length)), signal);
      if (n === 0) throw new SourceChangedError(`${this.#description} is shorter than the resume position`);
      left -= n;
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#pending = null;
      this.#detach();
      discardBody(this.#body);
    })();
    return this.#closing;
  }

  /** Everything announced has arrived (done without waiting on, or for, the body's end), or it ended. */
  #exhausted(): boolean {
    return this.#ended || (this.#total !== null && this.#received >= this.#total);
  }

  /** Copies the bytes left over from the last network chunk into `target`; returns how many. */
  #takePending(target: Uint8Array): number {
    const pending = this.#pending;
    if (pending === null) return 0;
    if (pending.length <= target.length) {
      target.set(pending);
      this.#pending = null;
      return pending.length;
    }
    target.set(pending.subarray(0, target.length));
    this.#pending = pending.subarray(target.length);
    return target.length;
  }

  /** Lets the body flow into `target` from `filled` until it is full or the body ends. */
  #pull(target: Uint8Array, filled: number, signal: AbortSignal | undefined): Promise<number> {
    if (this.#networkError) return Promise.reject(this.#networkError);
    return new Promise<number>((resolve, reject) => {
      const waiting: PendingRead = {
        target,
        filled,
        resolve,
        reject,
        signal,
        // A per-read signal ends the whole response: a half-read body cannot be picked up again.
        onAbort: () => {
          discardBody(this.#body);
          this.#settle(new AbortError('The operation was aborted', { cause: signal?.reason }));
        },
      };
      this.#waiting = waiting;
      signal?.addEventListener('abort', waiting.onAbort, { once: true });
      this.#attach();
      this.#body.resume();
    });
  }

  /** Ends the waiting read with its byte count, or with an error. Pauses the body either way. */
  #settle(outcome: number | Error): void {
    const waiting = this.#waiting;
    if (!waiting) return;
    this.#waiting = null;
    if (!this.#body.destroyed) this.#body.pause();
    waiting.signal?.removeEventListener('abort', waiting.onAbort);
    if (typeof outcome === 'number') waiting.resolve(outcome);
    else waiting.reject(outcome);
  }

  /** A network or limit failure: the waiting read gets it, else the next one that needs the network. */
  #fail(err: Error): void {
    this.#networkError ??= err;
    this.#settle(this.#networkError);
  }

  #attach(): void {
    if (this.#listening) return;
    this.#listening = true;
    this.#body.on('data', this.#onData);
    this.#body.on('end', this.#onEnd);
    this.#body.on('error', this.#onError);
    this.#body.on('close', this.#onClose);
  }

  #detach(): void {
    if (!this.#listening) return;
    this.#listening = false;
    this.#body.off('data', this.#onData);
    this.#body.off('end', this.#onEnd);
    this.#body.off('error', this.#onError);
    this.#body.off('close', this.#onClose);
  }

  readonly #onData = (chunk: Buffer): void => {
    const err = this.#account(chunk.length);
    if (err) {
      discardBody(this.#body);
      this.#fail(err);
      return;
    }
    if (this.#youngGcEveryBytes !== null) youngGarbage.add(chunk.length, this.#youngGcEveryBytes);
    const waiting = this.#waiting;
    if (!waiting) {
      // Only a chunk already in flight when the body was paused can land here: keep it for the next read.
      this.#pending = this.#pending === null ? chunk : Buffer.concat([this.#pending, chunk]);
      this.#body.pause();
      return;
    }
    const room = waiting.target.length - waiting.filled;
    if (chunk.length <= room) {
      waiting.target.set(chunk, waiting.filled);
      waiting.filled += chunk.length;
    } else {
      waiting.target.set(chunk.subarray(0, room), waiting.filled);
      waiting.filled += room;
      this.#pending = chunk.subarray(room);
    }
    if (waiting.filled === waiting.target.length || this.#exhausted()) this.#settle(waiting.filled);
  };

  readonly #onEnd = (): void => {
    this.#ended = true;
    if (this.#total !== null && this.#received !== this.#total) {
      this.#fail(
        new SourceUnavailableError(`${this.#description} ended early at byte ${this.#received}`, {
          details: { reason: 'PREMATURE_END' },
        }),
      );
      return;
    }
    this.#settle(this.#waiting?.filled ?? 0);
  };

  readonly #onError = (err: unknown): void => {
    if (this.#closing) return;
    this.#fail(requestError(err, this.#description, this.#signal));
  };

  readonly #onClose = (): void => {
    // Destroyed without 'end' or 'error' (e.g. by the open() signal): nothing more will come.
    if (this.#ended || this.#closing) return;
    this.#fail(
      this.#signal?.aborted
        ? new AbortError('The operation was aborted', { cause: this.#signal.reason })
        : new SourceUnavailableError(`${this.#description} closed before its end`, {
            details: { reason: 'PREMATURE_END' },
          }),
    );
  };

  /** Counts `n` more bytes from the network; the error when they break a limit. */
  #account(n: number): Error | undefined {
    this.#received += n;
    if (this.#received > this.#maxBytes) {
      return new SourceTooLargeError(`${this.#description} is larger than ${this.#maxBytes} bytes`, {
        details: { maxBytes: this.#maxBytes },
      });
    }
    if (this.#total !== null && this.#received > this.#total) {
      return new SourceProtocolError(`${this.#description} sent more bytes than announced`);
    }
    if (this.#knownSize !== null && this.#received > this.#knownSize) {
      return new SourceChangedError(`${this.#description} is now longer than its ${this.#knownSize} bytes`);
    }
    return undefined;
  }
}
