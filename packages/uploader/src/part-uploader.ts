import {
  AbortError,
  type BackoffOptions,
  decideRetry,
  type PartBody,
  type RetryPolicy,
  type RetryReason,
  retryPolicy,
  type StorageTarget,
  TimeoutError,
  type UploadedPart,
} from '@mediaferry/core';
import { sleep } from './backoff.js';

export type { RetryReason };

/**
 * The retry reason for a failed part upload, or null when retrying it in place cannot help: the one
 * policy of `@mediaferry/core` (`decideRetry`) in operation scope.
 */
export function partRetryReason(err: unknown, policy?: RetryPolicy): RetryReason | null {
  const decision = decideRetry(err, { scope: 'operation', ...(policy ? { policy } : {}) });
  return decision.retryable && decision.reason !== 'fatal' ? decision.reason : null;
}

export interface RetryOptions {
  signal: AbortSignal;
  /** Attempts in all (first + retries). */
  maxAttempts: number;
  /** Deadline of one attempt. */
  timeoutMs: number;
  /** Part uploads only: slowest acceptable rate, adding `bytes / minBytesPerSecond` to `timeoutMs`. */
  minBytesPerSecond?: number;
  backoff: BackoffOptions;
  /** Whether and when to retry; its `backoff` is replaced by the one above. @defaultValue DEFAULT_RETRY_POLICY */
  policy?: RetryPolicy;
  /** Called before each retry's wait. */
  onRetry?: (reason: RetryReason, err: unknown, attempt: number, delayMs: number) => void;
}

/**
 * Runs `attempt` until it succeeds, with bounded attempts, a per-attempt deadline (its signal aborts
 * and the failure counts as a timeout) and exponential backoff with jitter honouring Retry-After. Every
 * wait ends at once when `signal` aborts.
 */
export async function withRetries<T>(
  what: string,
  attempt: (signal: AbortSignal, attemptNumber: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const { signal } = options;
  const policy = retryPolicy({ backoff: options.backoff }, options.policy);
  for (let n = 1; ; n++) {
    if (signal.aborted) throw new AbortError(`${what} aborted`, { cause: signal.reason });
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new TimeoutError(`${what} took longer than ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    try {
      return await attempt(AbortSignal.any([signal, deadline.signal]), n);
    } catch (caught) {
      if (signal.aborted) throw new AbortError(`${what} aborted`, { cause: signal.reason });
      const err = deadline.signal.aborted ? (deadline.signal.reason as TimeoutError) : caught;
      const decision = decideRetry(err, { scope: 'operation', attempt: n, policy });
      if (!decision.retryable || decision.reason === 'fatal' || n >= options.maxAttempts) throw err;
      const { reason, delayMs } = decision;
      options.onRetry?.(reason, err, n, delayMs);
      await sleep(delayMs, signal);
    } finally {
      clearTimeout(timer);
    }
  }
}

export interface PartUploadOptions extends RetryOptions {
  target: StorageTarget;
  uploadId: string;
  partNumber: number;
  body: Uint8Array | PartBody;
  onBytesSent?: (sentBytes: number) => void;
  /** Checks what the server acknowledged (e.g. its part CRC); throws to fail the attempt. */
  verify?: (part: UploadedPart) => Promise<void>;
}

export interface PartUploadOutcome {
  part: UploadedPart;
  attempts: number;
}

/**
 * Uploads one part with retries (see `withRetries`). Credentials are the target's business: it
 * refreshes them itself and only surfaces a CredentialsExpiredError if that failed. A refreshable one is
 * retried like any transient error; one VOD cannot refresh (`details.refreshable === false`) is not
 * retried in place: the engine prepares the target again instead (see `upload-run.ts`).
 */
export async function uploadPartWithRetry(options: PartUploadOptions): Promise<PartUploadOutcome> {
  const { target, uploadId, partNumber, body } = options;
  const rate = options.minBytesPerSecond;
  const size = body instanceof Uint8Array ? body.byteLength : body.size;
  const timeoutMs = options.timeoutMs + (rate ? Math.ceil((size * 1000) / rate) : 0);
  return await withRetries(
    `part ${partNumber}`,
    async (signal, attempts) => {
      const part = await target.uploadPart(uploadId, partNumber, body, {
        signal,
        ...(options.onBytesSent ? { onBytesSent: options.onBytesSent } : {}),
      });
      await options.verify?.(part);
      return { part, attempts };
    },
    { ...options, timeoutMs },
  );
}
