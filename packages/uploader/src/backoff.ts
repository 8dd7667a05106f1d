import { setTimeout as delay } from 'node:timers/promises';
import { AbortError } from '@mediaferry/core';

export interface BackoffOptions {
  /** Base delay before the first retry. @defaultValue 200 */
  baseMs: number;
  /** Cap on the exponential part (a server's Retry-After may ask for more and is honoured). @defaultValue 20000 */
  maxMs: number;
  /**
   * Longest Retry-After honoured (a proxy answering `Retry-After: 86400` must not park a part for a
   * day); longer requests wait this long. @defaultValue `max(maxMs, 300000)` (5 minutes)
   */
  maxRetryAfterMs?: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 200, maxMs: 20_000 };

/**
 * Delay before retry number `retry` (1 = first retry): "equal jitter" under an exponential ceiling,
 * uniformly in [ceiling / 2, ceiling] with ceiling = min(maxMs, baseMs · 2^(retry − 1)), so retries of
 * parallel parts spread out but never come back at once. A server's `retryAfterMs` is a floor, capped
 * at `maxRetryAfterMs`.
 */
export function backoffDelay(
  retry: number,
  options: BackoffOptions = DEFAULT_BACKOFF,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const exp = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, Math.min(retry - 1, 30)));
  const jittered = exp / 2 + random() * (exp / 2);
  const cap = options.maxRetryAfterMs ?? Math.max(options.maxMs, 300_000);
  const floor =
    retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs > 0
      ? Math.min(retryAfterMs, cap)
      : 0;
  return Math.round(Math.max(jittered, floor));
}

/** Parses an HTTP `Retry-After` header (seconds or HTTP date) into milliseconds from `now`. */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Waits `ms`, rejecting with AbortError as soon as `signal` aborts. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) throw new AbortError('sleep aborted', { cause: signal.reason });
  try {
    await delay(ms, undefined, { signal });
  } catch (err) {
    if (signal?.aborted) throw new AbortError('sleep aborted', { cause: signal.reason });
    throw err;
  }
}
