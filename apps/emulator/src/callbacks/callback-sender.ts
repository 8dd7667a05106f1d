import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { sleep } from '../util/time.js';

export interface CallbackSenderOptions {
  /** Deliveries per event, first included. @defaultValue 4 */
  attempts?: number;
  /** Backoff before retry n is `baseDelayMs · 2^(n-1)`. @defaultValue 500 */
  baseDelayMs?: number;
  /** `fixed`: every retry waits `baseDelayMs` (VOD's schedule). @defaultValue 'exponential' */
  backoff?: 'exponential' | 'fixed';
  /** Per-attempt timeout. @defaultValue 5000 */
  timeoutMs?: number;
}

/** X-VOD-SIGNATURE: md5 hex of `url|timestamp|privateKey`, as VOD signs its HTTP callbacks. */
export function vodCallbackSignature(url: string, timestamp: string, privateKey: string): string {
  return createHash('md5').update(`${url}|${timestamp}|${privateKey}`).digest('hex');
}

/**
 * Delivers VOD-style event callbacks (FileUploadComplete, ImageUploadComplete) in the background:
 * never blocks the request that caused them, retries with backoff, stops on `close()`.
 */
export class CallbackSender {
  readonly #abort = new AbortController();
  readonly #pending = new Set<Promise<void>>();
  readonly #attempts: number;
  readonly #baseDelayMs: number;
  readonly #timeoutMs: number;
  readonly #fixed: boolean;

  constructor(
    private readonly privateKey: string,
    private readonly logger: Logger,
    options: CallbackSenderOptions = {},
  ) {
    this.#attempts = options.attempts ?? 4;
    this.#baseDelayMs = options.baseDelayMs ?? 500;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#fixed = options.backoff === 'fixed';
  }

  send(url: string, event: Record<string, unknown>): void {
    if (this.#abort.signal.aborted) return;
    const p = this.#deliver(url, event).finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }

  /** Resolves when every delivery in flight has finished (tests). */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await Promise.allSettled([...this.#pending]);
  }

  async #deliver(url: string, event: Record<string, unknown>): Promise<void> {
    const body = JSON.stringify(event);
    for (let attempt = 1; attempt <= this.#attempts; attempt++) {
      if (this.#abort.signal.aborted) return;
      const timestamp = String(Math.floor(Date.now() / 1000));
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            'X-VOD-TIMESTAMP': timestamp,
            'X-VOD-SIGNATURE': vodCallbackSignature(url, timestamp, this.privateKey),
          },
          body,
          signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#timeoutMs)]),
        });
        await res.arrayBuffer().catch(() => {});
        if (res.ok) return;
        this.logger.warn({ url, status: res.status, attempt }, 'emulator: callback refused');
      } catch (err) {
        if (this.#abort.signal.aborted) return;
        this.logger.warn({ url, err: (err as Error).message, attempt }, 'emulator: callback failed');
      }
      if (attempt < this.#attempts)
        await sleep(this.#baseDelayMs * (this.#fixed ? 1 : 2 ** (attempt - 1)), this.#abort.signal);
    }
  }
}
