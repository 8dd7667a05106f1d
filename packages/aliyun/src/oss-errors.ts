import {
  AbortError,
  AccessDeniedError,
  CredentialsExpiredError,
  isAbortError,
  isRetryableNetworkCode,
  MediaferryError,
  NetworkError,
  NoSuchUploadError,
  StorageError,
  ThrottledError,
} from '@mediaferry/core';
import { sanitizeServerMessage } from './vod-errors.js';

/**
 * Maps what ali-oss throws to typed errors. ali-oss errors carry `name` (`<Code>Error`), `code`,
 * `status` (HTTP, or -1 network / -2 timeout from urllib), `requestId`, `ecCode`; urllib network
 * errors carry a Node `code` (ECONNRESET...) or a name such as `ResponseTimeoutError`.
 */

export interface OssErrorContext {
  /** The OSS operation for messages and details, e.g. `UploadPart`. */
  operation: string;
  /** Whether the client signs with an STS token (VOD upload credentials) rather than an account AccessKey. */
  sts: boolean;
  /** Response headers of the failed request when known (for `Retry-After`). */
  responseHeaders?: Record<string, unknown>;
}

/** Token problems: with STS they mean "get a fresh credential", with an account key they are fatal. */
const STS_CREDENTIAL_CODES = new Set([
  'SecurityTokenExpired',
  'InvalidSecurityToken',
  'AccessKeyIdAndSecurityTokenNotMatch',
  'InvalidAccessKeyId',
]);

const ACCESS_DENIED_CODES = new Set([
  'AccessDenied',
  'SignatureDoesNotMatch',
  'InvalidAccessKeyId',
  'AccessForbidden',
  'UserDisable',
  'RequestTimeTooSkewed',
]);

const THROTTLING_CODES = /^(Throttling|SlowDown|TooManyRequests|RequestRateExceeded)/;

const NETWORK_ERROR_NAMES = new Set([
  'ResponseTimeoutError',
  'ConnectionTimeoutError',
  'SocketAssignTimeoutError',
  'RequestError',
  'ResponseError',
  'RequestTimeoutError',
]);

interface OssErrorShape {
  name?: unknown;
  code?: unknown;
  status?: unknown;
  requestId?: unknown;
  ecCode?: unknown;
  message?: unknown;
}

function retryAfterMs(headers: Record<string, unknown> | undefined): number | undefined {
  const raw = headers?.['retry-after'];
  if (typeof raw !== 'string' || raw.trim() === '') return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(raw);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

/** Turns an ali-oss / urllib failure into a typed `MediaferryError`. */
export function mapOssError(err: unknown, context: OssErrorContext): MediaferryError {
  if (err instanceof MediaferryError) return err;
  const { operation } = context;
  if (isAbortError(err)) return new AbortError(`OSS ${operation} was aborted`, { cause: err });
  const e = (typeof err === 'object' && err !== null ? err : {}) as OssErrorShape;
  const name = typeof e.name === 'string' ? e.name : '';
  const code = typeof e.code === 'string' && e.code !== '' ? e.code : undefined;
  const status = typeof e.status === 'number' ? e.status : undefined;
  const requestId = typeof e.requestId === 'string' ? e.requestId : undefined;
  const ecCode = typeof e.ecCode === 'string' ? e.ecCode : undefined;
  const text = sanitizeServerMessage(e.message);
  const message = `OSS ${operation} failed: ${code ?? (name || 'error')}${status !== undefined && status > 0 ? ` (HTTP ${status})` : ''}${text ? `: ${text}` : ''}`;
  const details = { operation, ossCode: code, requestId, status, ecCode };

  // urllib marks network failures with status -1 (network) / -2 (timeout) and no XML body.
  const rawNetwork =
    status === -1 ||
    status === -2 ||
    isRetryableNetworkCode(code) ||
    NETWORK_ERROR_NAMES.has(name) ||
    /socket hang up|ECONNRESET|EPIPE/i.test(text);
  if (rawNetwork && (status === undefined || status <= 0)) {
    return new NetworkError(message, { cause: err, details: { ...details, networkCode: code ?? name } });
  }
  if (status === undefined) {
    // Not an HTTP answer at all (a bug, a TypeError...): keep it visible, let the engine decide.
    return new StorageError(message, { cause: err, details, retryable: true });
  }
  // A bodiless 403 (HEAD without x-oss-err) under STS is most likely the token: refresh once.
  if (
    context.sts &&
    ((code !== undefined && STS_CREDENTIAL_CODES.has(code)) || (status === 403 && code === undefined))
  ) {
    return new CredentialsExpiredError(message, { details });
  }
  if (code === 'NoSuchUpload') return new NoSuchUploadError(message, { details });
  if (status === 429 || (code !== undefined && THROTTLING_CODES.test(code))) {
    return new ThrottledError(message, { details, retryAfterMs: retryAfterMs(context.responseHeaders) });
  }
  if (code !== undefined && ACCESS_DENIED_CODES.has(code)) return new AccessDeniedError(message, { details });
  if (status === 403) return new AccessDeniedError(message, { details });
  return new StorageError(message, { status, storageCode: code, details });
}
