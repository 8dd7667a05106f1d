import {
  AbortError,
  isAbortError,
  MediaferryError,
  SourceForbiddenError,
  SourceNotFoundError,
  SourceProtocolError,
  SourceUnavailableError,
} from '@mediaferry/core';

/** How URL sources read HTTP responses: status → error kind, validators, Content-Range. */

export type ResponseHeaders = Record<string, string | string[] | undefined>;

export function headerValue(headers: ResponseHeaders, name: string): string | null {
  const value = headers[name];
  if (Array.isArray(value)) return value[0] ?? null;
  return value ?? null;
}

/** A non-negative integer header (Content-Length), or null when absent or malformed. */
export function parseLength(value: string | null): number | null {
  if (value === null || !/^\d{1,16}$/.test(value.trim())) return null;
  const n = Number(value.trim());
  return Number.isSafeInteger(n) ? n : null;
}

/** `Retry-After` as milliseconds from now (delta-seconds or an HTTP date), or undefined. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export interface ContentRange {
  first: number;
  last: number;
  /** null for `*` (unknown total). */
  total: number | null;
}

/** `bytes 100-199/1000` (or `bytes 100-199/*`); null when it is not a satisfied byte range. */
export function parseContentRange(value: string | null): ContentRange | null {
  const m = value === null ? null : /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(value);
  if (!m) return null;
  const first = Number(m[1]);
  const last = Number(m[2]);
  const total = m[3] === '*' ? null : Number(m[3]);
  if (last < first || (total !== null && last >= total)) return null;
  return { first, last, total };
}

/** `bytes *\/1000` in a 416 answer: the current size. */
export function parseUnsatisfiedRangeTotal(value: string | null): number | null {
  const m = value === null ? null : /^\s*bytes\s+\*\/(\d+)\s*$/i.exec(value);
  return m ? Number(m[1]) : null;
}

/** What identifies a URL's content across attempts. */
export interface UrlIdentity {
  /** A strong ETag (weak `W/` ones cannot vouch for byte equality), or null. */
  etag: string | null;
  lastModified: string | null;
  size: number | null;
}

const FINGERPRINT_PREFIX = 'url:v1:';

export function identityFromHeaders(headers: ResponseHeaders, size: number | null): UrlIdentity {
  const etag = headerValue(headers, 'etag');
  return {
    etag: etag && !etag.startsWith('W/') ? etag : null,
    lastModified: headerValue(headers, 'last-modified'),
    size,
  };
}

export function urlFingerprint(id: UrlIdentity): string {
  return FINGERPRINT_PREFIX + JSON.stringify({ etag: id.etag, lastModified: id.lastModified, size: id.size });
}

export function parseUrlFingerprint(fingerprint: string): UrlIdentity | null {
  if (!fingerprint.startsWith(FINGERPRINT_PREFIX)) return null;
  try {
    const v = JSON.parse(fingerprint.slice(FINGERPRINT_PREFIX.length)) as Partial<UrlIdentity>;
    const str = (x: unknown) => (typeof x === 'string' ? x : null);
    return {
      etag: str(v.etag),
      lastModified: str(v.lastModified),
      size: typeof v.size === 'number' ? v.size : null,
    };
  } catch {
    return null;
  }
}

/**
 * Whether `actual` may be the same content as `expected`: sizes must agree when both are known; then the
 * strongest validator both sides carry decides (strong ETag, else Last-Modified). Nothing comparable left
 * means no evidence of a change.
 */
export function identitiesMatch(expected: UrlIdentity, actual: UrlIdentity): boolean {
  if (expected.size !== null && actual.size !== null && expected.size !== actual.size) return false;
  if (expected.etag !== null && actual.etag !== null) return expected.etag === actual.etag;
  if (expected.lastModified !== null && actual.lastModified !== null) {
    const a = Date.parse(expected.lastModified);
    const b = Date.parse(actual.lastModified);
    return Number.isNaN(a) || Number.isNaN(b) ? expected.lastModified === actual.lastModified : a === b;
  }
  return true;
}

/** The validator sent in `If-Range`: a strong ETag, else Last-Modified (RFC 9110 §13.1.5). */
export function ifRangeValidator(id: UrlIdentity | null): string | null {
  return id?.etag ?? id?.lastModified ?? null;
}

/** The error for a final (non-redirect) status the caller did not expect. */
export function statusError(status: number, headers: ResponseHeaders, description: string): MediaferryError {
  const details: Record<string, unknown> = { status };
  const message = `${description} answered HTTP ${status}`;
  if (status === 404 || status === 410) return new SourceNotFoundError(message, { details });
  if (status === 401 || status === 403 || status === 407) {
    // The origin refuses us: fatal, as a forbidden path is (fix the URL or its headers, then retry the job).
    return new SourceForbiddenError(message, { details: { ...details, reason: 'HTTP_ACCESS_DENIED' } });
  }
  if (status === 408 || status === 425 || status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(headerValue(headers, 'retry-after'));
    if (retryAfterMs !== undefined) details.retryAfterMs = retryAfterMs;
    return new SourceUnavailableError(message, { details });
  }
  return new SourceProtocolError(message, { details });
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Any error undici (or the socket) raised while talking to the source, as a contract error: aborts stay
 * aborts, our own refusals pass through, invalid arguments are fatal, everything else (reset, timeout,
 * DNS hiccup, premature close) is SourceUnavailableError, which the engine retries and resumes.
 */
export function requestError(err: unknown, description: string, signal?: AbortSignal): MediaferryError {
  if (err instanceof MediaferryError) return err;
  if (signal?.aborted || isAbortError(err) || (err as { code?: unknown }).code === 'UND_ERR_ABORTED') {
    return new AbortError('The operation was aborted', { cause: signal?.reason ?? err });
  }
  const code = (err as { code?: unknown }).code;
  if (code === 'UND_ERR_INVALID_ARG') {
    return new SourceProtocolError(`invalid request to ${description}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const reason = typeof code === 'string' ? code : 'UNKNOWN';
  const what = TIMEOUT_CODES.has(reason) ? 'timed out' : 'failed';
  return new SourceUnavailableError(`reading ${description} ${what} (${reason})`, {
    cause: err,
    details: { reason },
  });
}
