import {
  AbortError,
  AccessDeniedError,
  isAbortError,
  isRetryableNetworkCode,
  MediaferryError,
  NetworkError,
  ThrottledError,
  VodError,
} from '@mediaferry/core';

/**
 * Maps whatever `@alicloud/openapi-core` throws (ClientError / ServerError / ThrottlingError with
 * `code`, `statusCode`, `requestId`, `data`; httpx network and timeout errors; a `SyntaxError` for a
 * non-JSON body) to the typed errors of `@mediaferry/core`. The VOD code and request id stay in
 * `details`; messages are rebuilt from the service's `Message` so nothing secret slips through
 * (a real gateway's SignatureDoesNotMatch message carries the string-to-sign, which includes the STS token).
 */

/** Codes that mean the AccessKey (or its STS token) is wrong or lacks permission: fatal. */
const ACCESS_DENIED_CODES = [
  /^InvalidAccessKeyId/,
  /^SignatureDoesNotMatch$/,
  /^IncompleteSignature$/,
  /^Forbidden/,
  /^InvalidSecurityToken/,
  /^NoPermission/,
  /^AccessDenied/,
];

/** A nonce collision is random: try again. */
const RETRYABLE_CLIENT_CODES = new Set(['SignatureNonceUsed']);

interface OpenApiErrorShape {
  name?: unknown;
  code?: unknown;
  statusCode?: unknown;
  requestId?: unknown;
  retryAfter?: unknown;
  data?: unknown;
  message?: unknown;
}

/** First line of a server message, without the string-to-sign some gateways append, capped in length. */
export function sanitizeServerMessage(message: unknown): string {
  if (typeof message !== 'string') return '';
  const firstLine = message.split(/\r?\n/, 1)[0] ?? '';
  const cut = firstLine.search(/server string to sign|stringtosign|string to sign/i);
  const text = (cut >= 0 ? firstLine.slice(0, cut) : firstLine).trim();
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value !== 'undefined' ? value : undefined;
}

/** Turns an error thrown by a VOD call into a typed `MediaferryError`. */
export function mapVodError(err: unknown, action: string): MediaferryError {
  if (err instanceof MediaferryError) return err;
  if (isAbortError(err)) return new AbortError(`VOD ${action} was aborted`, { cause: err });
  const e = (typeof err === 'object' && err !== null ? err : {}) as OpenApiErrorShape;
  const data = (typeof e.data === 'object' && e.data !== null ? e.data : {}) as Record<string, unknown>;
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const vodCode = str(data.Code) ?? str(e.code);

  if (status !== undefined && vodCode !== undefined) {
    const requestId = str(data.RequestId) ?? str(e.requestId);
    const serverMessage = sanitizeServerMessage(data.Message);
    const message = `VOD ${action} failed: ${vodCode} (HTTP ${status})${serverMessage ? `: ${serverMessage}` : ''}`;
    const details = { action, vodCode, requestId, status };
    if (vodCode.includes('Throttling') || status === 429) {
      const retryAfterMs = typeof e.retryAfter === 'number' && e.retryAfter >= 0 ? e.retryAfter : undefined;
      return new ThrottledError(message, { details, retryAfterMs });
    }
    if (ACCESS_DENIED_CODES.some((re) => re.test(vodCode)))
      return new AccessDeniedError(message, { details });
    if (RETRYABLE_CLIENT_CODES.has(vodCode))
      return new VodError(message, { status, vodCode, details, retryable: true });
    // 5xx is retryable, every other 4xx (InvalidParameter, MissingParameter, InvalidVideo.NotFound...) fatal.
    return new VodError(message, { status, vodCode, details });
  }

  const name = typeof e.name === 'string' ? e.name : '';
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (isRetryableNetworkCode(code) || /Timeout|RequestError|ResponseError|SocketError/.test(name)) {
    return new NetworkError(`VOD ${action} failed: network error (${code ?? name})`, {
      cause: err,
      details: { action, networkCode: code ?? name },
    });
  }
  if (err instanceof SyntaxError) {
    // A proxy or wrong endpoint answered with something that is not VOD's JSON.
    return new VodError(`VOD ${action} failed: the response was not JSON`, {
      cause: err,
      retryable: true,
      details: { action },
    });
  }
  const text = err instanceof Error ? sanitizeServerMessage(err.message) : String(err);
  return new VodError(`VOD ${action} failed: ${text}`, { cause: err, retryable: true, details: { action } });
}

/** Whether a mapped error says the media does not exist (e.g. `InvalidVideo.NotFound`). */
export function isVodNotFound(err: unknown): boolean {
  return err instanceof VodError && (err.status === 404 || /NotFound$/.test(err.vodCode ?? ''));
}
