import {
  AbortError,
  SourceForbiddenError,
  SourceNotFoundError,
  SourceProtocolError,
  SourceUnavailableError,
} from '@mediaferry/core';
import { describe, expect, it } from 'vitest';
import {
  identitiesMatch,
  identityFromHeaders,
  ifRangeValidator,
  parseContentRange,
  parseLength,
  parseRetryAfter,
  parseUnsatisfiedRangeTotal,
  parseUrlFingerprint,
  requestError,
  statusError,
  urlFingerprint,
} from './url-response.js';

describe('response parsing', () => {
  it('Content-Length', () => {
    expect(parseLength('123')).toBe(123);
    expect(parseLength(' 0 ')).toBe(0);
    expect(parseLength('-1')).toBeNull();
    expect(parseLength('1e3')).toBeNull();
    expect(parseLength('99999999999999999')).toBeNull();
    expect(parseLength(null)).toBeNull();
  });

  it('Content-Range', () => {
    expect(parseContentRange('bytes 100-199/1000')).toEqual({ first: 100, last: 199, total: 1000 });
    expect(parseContentRange('bytes 100-199/*')).toEqual({ first: 100, last: 199, total: null });
    expect(parseContentRange('bytes 200-100/1000')).toBeNull();
    expect(parseContentRange('bytes 0-1000/1000')).toBeNull();
    expect(parseContentRange('bytes */1000')).toBeNull();
    expect(parseUnsatisfiedRangeTotal('bytes */1000')).toBe(1000);
    expect(parseUnsatisfiedRangeTotal('bytes 0-1/2')).toBeNull();
  });

  it('Retry-After in seconds or as a date', () => {
    expect(parseRetryAfter('7')).toBe(7000);
    const now = Date.parse('2024-01-01T00:00:00Z');
    expect(parseRetryAfter('Mon, 01 Jan 2024 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});

describe('URL identity', () => {
  it('keeps strong ETags only, and round-trips through the fingerprint', () => {
    const weak = identityFromHeaders(
      { etag: 'W/"abc"', 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT' },
      5,
    );
    expect(weak).toEqual({ etag: null, lastModified: 'Mon, 01 Jan 2024 00:00:00 GMT', size: 5 });
    const strong = identityFromHeaders({ etag: '"abc"' }, null);
    expect(parseUrlFingerprint(urlFingerprint(strong))).toEqual(strong);
    expect(parseUrlFingerprint('file:v1:1:2:3:4')).toBeNull();
    expect(ifRangeValidator(strong)).toBe('"abc"');
    expect(ifRangeValidator(weak)).toBe('Mon, 01 Jan 2024 00:00:00 GMT');
    expect(ifRangeValidator({ etag: null, lastModified: null, size: 1 })).toBeNull();
  });

  it('matches on size, then the strongest validator both sides have', () => {
    const base = { etag: '"a"', lastModified: 'Mon, 01 Jan 2024 00:00:00 GMT', size: 10 };
    expect(identitiesMatch(base, { ...base })).toBe(true);
    expect(identitiesMatch(base, { ...base, size: 11 })).toBe(false);
    expect(identitiesMatch(base, { ...base, etag: '"b"' })).toBe(false);
    expect(
      identitiesMatch(base, { ...base, etag: null, lastModified: 'Mon, 01 Jan 2024 00:00:01 GMT' }),
    ).toBe(false);
    expect(
      identitiesMatch(base, { etag: null, lastModified: 'Monday, 01-Jan-24 00:00:00 GMT', size: 10 }),
    ).toBe(true);
    expect(identitiesMatch(base, { etag: null, lastModified: null, size: null })).toBe(true);
  });
});

describe('errors', () => {
  it('maps statuses to contract errors', () => {
    expect(statusError(404, {}, 'u')).toBeInstanceOf(SourceNotFoundError);
    expect(statusError(410, {}, 'u')).toBeInstanceOf(SourceNotFoundError);
    expect(statusError(401, {}, 'u')).toBeInstanceOf(SourceForbiddenError);
    expect(statusError(403, {}, 'u').retryable).toBe(false);
    expect(statusError(418, {}, 'u')).toBeInstanceOf(SourceProtocolError);
    const busy = statusError(503, { 'retry-after': '3' }, 'u');
    expect(busy).toBeInstanceOf(SourceUnavailableError);
    expect(busy.retryable).toBe(true);
    expect(busy.details).toEqual({ status: 503, retryAfterMs: 3000 });
    expect(statusError(408, {}, 'u')).toBeInstanceOf(SourceUnavailableError);
  });

  it('maps request failures: aborts, invalid arguments, network', () => {
    expect(requestError(Object.assign(new Error('x'), { code: 'UND_ERR_ABORTED' }), 'u')).toBeInstanceOf(
      AbortError,
    );
    expect(requestError(new Error('x'), 'u', AbortSignal.abort())).toBeInstanceOf(AbortError);
    expect(requestError(Object.assign(new Error('x'), { code: 'UND_ERR_INVALID_ARG' }), 'u')).toBeInstanceOf(
      SourceProtocolError,
    );
    const reset = requestError(Object.assign(new Error('x'), { code: 'ECONNRESET' }), 'u');
    expect(reset).toBeInstanceOf(SourceUnavailableError);
    expect(reset.details).toEqual({ reason: 'ECONNRESET' });
    const own = new SourceForbiddenError('no');
    expect(requestError(own, 'u')).toBe(own);
  });
});
