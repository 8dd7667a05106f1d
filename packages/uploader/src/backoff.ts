import { setTimeout as delay } from 'node:timers/promises';
import { AbortError } from '@mediaferry/core';

// The backoff itself is part of the one retry policy in @mediaferry/core.
export { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF, parseRetryAfter } from '@mediaferry/core';

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
