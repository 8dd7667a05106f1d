import { type ErrorCode, isRetryableStatus, MediaferryError } from '@mediaferry/core';

/** The JSON error body every mediaferry API error carries (CONTRACT §1). */
export interface ApiErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

/** Codes the contract names, used when an error response has no parsable JSON body (e.g. a proxy's 502). */
const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHORIZED',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  429: 'RATE_LIMITED',
  503: 'UNAVAILABLE',
};

/**
 * The API answered with a non-success status. `code`, `message` and `details` come from the JSON
 * error body; `retryable` is true for 408, 429 and 5xx. Checks by `name === 'ApiError'` work too.
 */
export class ApiError extends MediaferryError {
  override name = 'ApiError';
  readonly status: number;
  /** From `Retry-After` (429/503), when the server sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(
    status: number,
    code: ErrorCode,
    message: string,
    options: { details?: Record<string, unknown>; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(code, message, isRetryableStatus(status), options);
    this.status = status;
    this.retryAfterMs = options.retryAfterMs;
  }

  /** Builds the error from a response whose body was already read as text. */
  static fromResponse(
    status: number,
    statusText: string,
    bodyText: string,
    retryAfter: string | null,
  ): ApiError {
    const retryAfterMs = parseRetryAfter(retryAfter);
    const body = parseErrorBody(bodyText);
    if (body) {
      // The server speaks the same typed union (CONTRACT §1); a newer server's code passes through as is.
      return new ApiError(status, body.error.code as ErrorCode, body.error.message, {
        ...(body.error.details ? { details: body.error.details } : {}),
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    }
    const code = CODE_BY_STATUS[status] ?? (status >= 500 ? 'SERVER_ERROR' : 'HTTP_ERROR');
    return new ApiError(status, code, `HTTP ${status}${statusText ? ` ${statusText}` : ''}`, {
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
}

export function isApiErrorBody(value: unknown): value is ApiErrorBody {
  if (typeof value !== 'object' || value === null) return false;
  const error = (value as { error?: unknown }).error;
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { code?: unknown }).code === 'string' &&
    typeof (error as { message?: unknown }).message === 'string'
  );
}

function parseErrorBody(text: string): ApiErrorBody | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return isApiErrorBody(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** `Retry-After` as delta-seconds or an HTTP date → milliseconds (never negative). */
export function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
