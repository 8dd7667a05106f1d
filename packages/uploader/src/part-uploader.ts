import {
  AbortError,
  CredentialsExpiredError,
  isRetryableNetworkCode,
  MediaferryError,
  NetworkError,
  NoSuchUploadError,
  OwnershipLostError,
  type PartBody,
  StorageError,
  type StorageTarget,
  ThrottledError,
  TimeoutError,
  type UploadedPart,
} from '@mediaferry/core';
import { type BackoffOptions, backoffDelay, sleep } from './backoff.js';

/** Why a part (or a source read) was retried; the worker's `mediaferry_part_retries_total{reason}`. */
export type RetryReason =
  | 'network'
  | '5xx'
  | 'throttled'
  | 'timeout'
  | 'credentials'
  | 'integrity'
  | 'source'
  | 'other';

/**
 * The retry reason for a failed part upload, or null when retrying cannot help: fatal errors, aborts,
 * lost ownership, and a multipart upload that no longer exists (the engine handles that one).
 */
export function partRetryReason(err: unknown): RetryReason | null {
  if (err instanceof NoSuchUploadError || err instanceof OwnershipLostError || err instanceof AbortError)
    return null;
  if (err instanceof TimeoutError) return 'timeout';
  if (err instanceof ThrottledError) return 'throttled';
  if (err instanceof CredentialsExpiredError) return 'credentials';
  if (err instanceof StorageError) {
    if (err.status === 429) return 'throttled';
    if (err.retryable) return (err.status ?? 500) >= 500 ? '5xx' : 'other';
    return null;
  }
  if (err instanceof NetworkError) return 'network';
  if (err instanceof MediaferryError) {
    const status = (err as { status?: unknown }).status;
    if (err.retryable && typeof status === 'number')
      return status === 429 ? 'throttled' : status >= 500 ? '5xx' : 'other';
    if (err.code === 'INTEGRITY_MISMATCH') return err.retryable ? 'integrity' : null;
    return err.retryable ? 'other' : null;
  }
  if (err instanceof Error) {
    if (err.name === 'AbortError') return null;
    if (isRetryableNetworkCode((err as { code?: unknown }).code)) return 'network';
  }
  return null;
}

/** Milliseconds the server asked us to wait, if it did. */
function retryAfterOf(err: unknown): number | undefined {
  if (err instanceof ThrottledError) return err.retryAfterMs;
  const details = err instanceof MediaferryError ? err.details : undefined;
  const value = details?.retryAfterMs;
  return typeof value === 'number' ? value : undefined;
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
      const reason = partRetryReason(err);
      if (reason === null || n >= options.maxAttempts) throw err;
      const delayMs = backoffDelay(n, options.backoff, retryAfterOf(err));
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
 * refreshes them itself and only surfaces a retryable CredentialsExpiredError if that failed, which is
 * retried like any transient error — the upload is never restarted for it.
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
