/** How a webhook delivery is retried. */
export interface WebhookRetryOptions {
  /** Tries in total, the first included. @defaultValue 15 */
  attempts?: number;
  /** Delay before the first retry; doubles per retry. @defaultValue 10_000 (10 s) */
  baseDelayMs?: number;
  /** Upper bound of one delay. @defaultValue 600_000 (10 min) */
  maxDelayMs?: number;
}

export const DEFAULT_WEBHOOK_RETRY: Readonly<Required<WebhookRetryOptions>> = Object.freeze({
  attempts: 15,
  baseDelayMs: 10_000,
  maxDelayMs: 600_000,
});

/** Each delay is drawn from [JITTER_FLOOR × nominal, nominal], so receivers are not hit in lockstep. */
export const JITTER_FLOOR = 0.75;

/**
 * Delay before the retry that follows failed attempt number `failedAttempts` (1-based):
 * `min(maxDelay, base × 2^(failedAttempts−1))`, scaled by a random factor in [0.75, 1]. A receiver's
 * `Retry-After` raises it (never above `maxDelayMs`).
 */
export function webhookRetryDelay(
  failedAttempts: number,
  retry: Required<WebhookRetryOptions>,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const nominal = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** Math.max(0, failedAttempts - 1));
  const jittered = Math.round(nominal * (JITTER_FLOOR + (1 - JITTER_FLOOR) * random()));
  return retryAfterMs === undefined ? jittered : Math.max(jittered, Math.min(retryAfterMs, retry.maxDelayMs));
}

/**
 * The shortest and longest time from the first attempt to the last one, ignoring the attempts' own
 * durations (each can add up to the request timeout). Defaults: 14 retries of 10 s, 20 s, 40 s, 80 s,
 * 160 s, 320 s, then 8 × 600 s = 5430 s nominal (90.5 min); with jitter at least 4072.5 s (67.9 min),
 * so a receiver that is down for up to an hour still gets every event.
 */
export function webhookRetryWindowMs(retry: Required<WebhookRetryOptions>): { minMs: number; maxMs: number } {
  let maxMs = 0;
  for (let failed = 1; failed < retry.attempts; failed++) {
    maxMs += Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (failed - 1));
  }
  return { minMs: maxMs * JITTER_FLOOR, maxMs };
}
