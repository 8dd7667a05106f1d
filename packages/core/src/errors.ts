import type { ErrorCode } from './error-codes.js';
import { decideRetry } from './retry-policy.js';

/**
 * One error base with a stable `code` and a `retryable` flag; one small class per kind.
 * `name` is set on every class so checks by name work across process boundaries (BullMQ style).
 */
export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  retryable: boolean;
}

export interface MediaferryErrorOptions {
  cause?: unknown;
  details?: Record<string, unknown>;
  /** Overrides the class default (e.g. a storage error that is retryable only for 5xx). */
  retryable?: boolean;
}

export class MediaferryError extends Error {
  override name = 'MediaferryError';
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, retryable: boolean, options: MediaferryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? retryable;
    this.details = options.details;
  }

  toJSON(): ErrorInfo {
    return { code: this.code, message: this.message, retryable: this.retryable };
  }
}

type Opts = MediaferryErrorOptions;

/** Bad input from a caller: never retried. */
export class ValidationError extends MediaferryError {
  override name = 'ValidationError';
  constructor(message: string, options?: Opts) {
    super('VALIDATION_FAILED', message, false, options);
  }
}

export class ConfigError extends MediaferryError {
  override name = 'ConfigError';
  constructor(message: string, options?: Opts) {
    super('CONFIG_INVALID', message, false, options);
  }
}

export class SourceNotFoundError extends MediaferryError {
  override name = 'SourceNotFoundError';
  constructor(message: string, options?: Opts) {
    super('SOURCE_NOT_FOUND', message, false, options);
  }
}

/** A path outside the allowed roots, a URL the SSRF policy refuses, a non-regular file, a bad scheme. */
export class SourceForbiddenError extends MediaferryError {
  override name = 'SourceForbiddenError';
  constructor(message: string, options?: Opts) {
    super('SOURCE_FORBIDDEN', message, false, options);
  }
}

/** The source's content differs from what earlier attempts uploaded (size, mtime, inode, ETag). */
export class SourceChangedError extends MediaferryError {
  override name = 'SourceChangedError';
  constructor(message: string, options?: Opts) {
    super('SOURCE_CHANGED', message, false, options);
  }
}

export class SourceTooLargeError extends MediaferryError {
  override name = 'SourceTooLargeError';
  constructor(message: string, options?: Opts) {
    super('SOURCE_TOO_LARGE', message, false, options);
  }
}

/** The source answered unexpectedly (4xx other than 404/403, bad Content-Range...). Fatal by default. */
export class SourceProtocolError extends MediaferryError {
  override name = 'SourceProtocolError';
  constructor(message: string, options?: Opts) {
    super('SOURCE_PROTOCOL', message, false, options);
  }
}

/** The source could not be read right now (connection reset, 5xx, timeout). */
export class SourceUnavailableError extends MediaferryError {
  override name = 'SourceUnavailableError';
  constructor(message: string, options?: Opts) {
    super('SOURCE_UNAVAILABLE', message, true, options);
  }
}

/** A network failure talking to storage or VOD. */
export class NetworkError extends MediaferryError {
  override name = 'NetworkError';
  constructor(message: string, options?: Opts) {
    super('NETWORK_ERROR', message, true, options);
  }
}

/** Storage (OSS) answered with an error; retryable for 5xx, fatal otherwise unless told. */
export class StorageError extends MediaferryError {
  override name = 'StorageError';
  readonly status: number | undefined;
  readonly storageCode: string | undefined;
  constructor(message: string, options: Opts & { status?: number; storageCode?: string } = {}) {
    super('STORAGE_ERROR', message, (options.status ?? 500) >= 500, options);
    this.status = options.status;
    this.storageCode = options.storageCode;
  }
}

/** The upload credential (STS token) expired or was refused as unknown: refresh and retry. */
export class CredentialsExpiredError extends MediaferryError {
  override name = 'CredentialsExpiredError';
  constructor(message: string, options?: Opts) {
    super('CREDENTIALS_EXPIRED', message, true, options);
  }
}

export class AccessDeniedError extends MediaferryError {
  override name = 'AccessDeniedError';
  constructor(message: string, options?: Opts) {
    super('ACCESS_DENIED', message, false, options);
  }
}

/** 429 / Throttling.*: retry after `retryAfterMs` when the server said so. */
export class ThrottledError extends MediaferryError {
  override name = 'ThrottledError';
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: Opts & { retryAfterMs?: number } = {}) {
    super('THROTTLED', message, true, options);
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** VOD refused a request (bad parameter, unknown media...). */
export class VodError extends MediaferryError {
  override name = 'VodError';
  readonly vodCode: string | undefined;
  readonly status: number | undefined;
  constructor(message: string, options: Opts & { status?: number; vodCode?: string } = {}) {
    super('VOD_ERROR', message, (options.status ?? 500) >= 500, options);
    this.vodCode = options.vodCode;
    this.status = options.status;
  }
}

/** The multipart upload no longer exists on the server (completed, aborted or expired). */
export class NoSuchUploadError extends MediaferryError {
  override name = 'NoSuchUploadError';
  constructor(message: string, options?: Opts) {
    super('NO_SUCH_UPLOAD', message, true, options);
  }
}

export class IntegrityMismatchError extends MediaferryError {
  override name = 'IntegrityMismatchError';
  constructor(message: string, options?: Opts) {
    super('INTEGRITY_MISMATCH', message, false, options);
  }
}

/** Another engine took over this upload's checkpoint; this one must stop without touching it. */
export class OwnershipLostError extends MediaferryError {
  override name = 'OwnershipLostError';
  constructor(message: string, options?: Opts) {
    super('OWNERSHIP_LOST', message, false, options);
  }
}

export class TimeoutError extends MediaferryError {
  override name = 'TimeoutError';
  constructor(message: string, options?: Opts) {
    super('TIMEOUT', message, true, options);
  }
}

/** The operation was aborted by its AbortSignal (cancel, shutdown). Surfaces with name `AbortError`. */
export class AbortError extends MediaferryError {
  override name = 'AbortError';
  constructor(message = 'The operation was aborted', options?: Opts) {
    super('ABORTED', message, false, options);
  }
}

export class CanceledError extends MediaferryError {
  override name = 'CanceledError';
  constructor(message = 'The job was canceled', options?: Opts) {
    super('CANCELED', message, false, options);
  }
}

export class NotFoundError extends MediaferryError {
  override name = 'NotFoundError';
  constructor(message: string, options?: Opts) {
    super('NOT_FOUND', message, false, options);
  }
}

/**
 * A part needs more buffer memory than the worker's whole budget (`WORKER_MEMORY_BUDGET_BYTES`): it could
 * never be served, so it is refused before any byte moves. Raise the budget or lower the part size.
 */
export class MemoryBudgetError extends MediaferryError {
  override name = 'MemoryBudgetError';
  constructor(message: string, options?: Opts) {
    super('MEMORY_BUDGET_EXCEEDED', message, false, options);
  }
}

export function isAbortError(err: unknown): boolean {
  return (
    err instanceof Error && (err.name === 'AbortError' || (err as { code?: unknown }).code === 'ABORT_ERR')
  );
}

/**
 * The one place that turns any thrown value into `{code, message, retryable}` at the job boundary
 * (the worker, the webhooks): known errors keep their code, bare network errors are NETWORK_ERROR,
 * anything else INTERNAL. `retryable` is the retry policy's decision (`decideRetry`), so the engine
 * retrying a part and the worker retrying a job never disagree.
 */
export function classify(err: unknown): ErrorInfo {
  const retryable = decideRetry(err, { scope: 'job' }).retryable;
  if (err instanceof MediaferryError) return { code: err.code, message: err.message, retryable };
  if (isAbortError(err)) return { code: 'ABORTED', message: (err as Error).message, retryable: false };
  if (err instanceof Error) {
    const network = decideRetry(err, { scope: 'operation' }).reason === 'network';
    return { code: network ? 'NETWORK_ERROR' : 'INTERNAL', message: err.message, retryable };
  }
  return { code: 'INTERNAL', message: String(err), retryable };
}

/** Throws `AbortError` when the signal is aborted (keeps the signal's reason as the cause). */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError('The operation was aborted', { cause: signal.reason });
}
