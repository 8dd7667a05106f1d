import {
  AbortError,
  type Source,
  SourceChangedError,
  SourceForbiddenError,
  type SourceOpenOptions,
  SourceProtocolError,
  type SourceReader,
  type SourceStat,
  SourceTooLargeError,
} from '@mediaferry/core';
import type { Dispatcher } from 'undici';
import { inferFileName } from './file-name.js';
import { resolveTimeouts, type UrlTimeouts } from './source-policy.js';
import { UrlReader } from './url-reader.js';
import {
  describeUrl,
  discardBody,
  type SourceResponse,
  sanitizeHeaders,
  sendSourceRequest,
  splitCredentials,
} from './url-request.js';
import {
  headerValue,
  identitiesMatch,
  identityFromHeaders,
  ifRangeValidator,
  parseContentRange,
  parseLength,
  parseUnsatisfiedRangeTotal,
  parseUrlFingerprint,
  statusError,
  type UrlIdentity,
  urlFingerprint,
} from './url-response.js';

export interface UrlSourceOptions {
  /** Job headers sent with every request (e.g. Authorization); never logged. @defaultValue {} */
  headers?: Record<string, string>;
  /** Must be a guarded dispatcher (`createGuardedDispatcher`): it is what enforces the SSRF policy. */
  dispatcher: Dispatcher;
  /** Largest accepted source, checked on Content-Length / Content-Range and while streaming. */
  maxBytes: number;
  /** @defaultValue {@link DEFAULT_URL_TIMEOUTS} */
  timeouts?: Partial<UrlTimeouts>;
  /**
   * A young-generation GC after this many body bytes received (process-wide), so the per-read socket
   * buffers do not pile up until a full GC (see `young-gc.ts`); null turns it off. @defaultValue 4 MiB
   */
  youngGcEveryBytes?: number | null;
}

/**
 * An http(s) URL, streamed. `stat()` asks HEAD and falls back to GET (headers only) when HEAD fails or
 * gives no usable length; `open({start})` resumes with `Range` + `If-Range` and insists on a matching 206,
 * or discards the first `start` bytes of a 200 whose validators still match.
 */
export class UrlSource implements Source {
  readonly kind = 'url' as const;
  readonly description: string;
  readonly #url: URL;
  readonly #headers: Record<string, string>;
  readonly #dispatcher: Dispatcher;
  readonly #maxBytes: number;
  readonly #timeouts: UrlTimeouts;
  readonly #youngGcEveryBytes: number | null | undefined;
  /** Identity seen by the last stat(), used by open() when no fingerprint is given. */
  #lastIdentity: UrlIdentity | null = null;

  constructor(url: string | URL, options: UrlSourceOptions) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch (err) {
      throw new SourceForbiddenError('not a valid URL', { cause: err, details: { reason: 'INVALID_URL' } });
    }
    this.#headers = {
      'accept-encoding': 'identity', // upload the bytes as stored, never a compressed transfer form
      ...sanitizeHeaders(options.headers),
    };
    this.#url = splitCredentials(parsed, this.#headers);
    this.description = describeUrl(this.#url);
    this.#dispatcher = options.dispatcher;
    this.#maxBytes = options.maxBytes;
    this.#timeouts = resolveTimeouts(options.timeouts);
    this.#youngGcEveryBytes = options.youngGcEveryBytes;
  }

  #send(
    method: 'GET' | 'HEAD',
    extra: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<SourceResponse> {
    return sendSourceRequest(this.#url, {
      method,
      headers: { ...this.#headers, ...extra },
      dispatcher: this.#dispatcher,
      timeouts: this.#timeouts,
      ...(signal ? { signal } : {}),
    });
  }

  #assertSize(size: number | null): void {
    if (size !== null && size > this.#maxBytes) {
      throw new SourceTooLargeError(`${this.description} is ${size} bytes, more than ${this.#maxBytes}`, {
        details: { size, maxBytes: this.#maxBytes },
      });
    }
  }

  /** HEAD, when it answers 200 with a plausible length; null means "ask GET instead". */
  async #head(signal?: AbortSignal): Promise<SourceResponse | null> {
    let res: SourceResponse;
    try {
      res = await this.#send('HEAD', {}, signal);
    } catch (err) {
      // Refusals and aborts are final; anything else about HEAD is worth a GET.
      if (err instanceof AbortError || err instanceof SourceForbiddenError) throw err;
      if (err instanceof SourceProtocolError && err.details?.reason === 'TOO_MANY_REDIRECTS') throw err;
      return null;
    }
    res.body.dump().catch(() => undefined);
    const length = parseLength(headerValue(res.headers, 'content-length'));
    // Servers that refuse HEAD (405, 403 on GET-only signed URLs, 501) or answer it with length 0 lie.
    return res.statusCode === 200 && length !== null && length > 0 ? res : null;
  }

  async stat(signal?: AbortSignal): Promise<SourceStat> {
    let res = await this.#head(signal);
    if (res === null) {
      res = await this.#send('GET', {}, signal);
      discardBody(res.body); // headers are all we need
      if (res.statusCode !== 200) throw statusError(res.statusCode, res.headers, this.description);
    }
    const size = parseLength(headerValue(res.headers, 'content-length'));
    this.#assertSize(size);
    const identity = identityFromHeaders(res.headers, size);
    this.#lastIdentity = identity;
    const finalHasName = res.url.pathname.split('/').some((s) => s.length > 0);
    const { fileName, contentType } = inferFileName({
      contentDisposition: headerValue(res.headers, 'content-disposition'),
      url: finalHasName ? res.url : this.#url,
      contentType: headerValue(res.headers, 'content-type'),
    });
    const acceptRanges = headerValue(res.headers, 'accept-ranges') ?? '';
    return {
      size,
      fingerprint: urlFingerprint(identity),
      fileName,
      contentType,
      seekable: /\bbytes\b/i.test(acceptRanges),
    };
  }

  async open(options: SourceOpenOptions): Promise<SourceReader> {
    const { start, signal } = options;
    if (!Number.isSafeInteger(start) || start < 0) throw new RangeError(`invalid start offset ${start}`);
    let expected = this.#lastIdentity;
    if (options.expectedFingerprint !== undefined) {
      expected = parseUrlFingerprint(options.expectedFingerprint);
      if (expected === null) throw new SourceChangedError(`${this.description}: fingerprint is not a URL's`);
    }
    const extra: Record<string, string> = {};
    if (start > 0) {
      extra.range = `bytes=${start}-`;
      const validator = ifRangeValidator(expected);
      if (validator !== null) extra['if-range'] = validator;
    }
    const res = await this.#send('GET', extra, signal);
    try {
      return await this.#readerFor(res, start, expected, signal);
    } catch (err) {
      discardBody(res.body);
      throw err;
    }
  }

  async #readerFor(
    res: SourceResponse,
    start: number,
    expected: UrlIdentity | null,
    signal: AbortSignal | undefined,
  ): Promise<UrlReader> {
    const changed = (why: string) =>
      new SourceChangedError(`${this.description} changed since the upload started (${why})`);
    const reader = (bodyStart: number, total: number | null) =>
      new UrlReader({
        body: res.body,
        bodyStart,
        total,
        maxBytes: this.#maxBytes,
        // A chunked body has no length to compare with the one recorded: bound it while streaming, or a
        // longer new content would be cut at the old size and uploaded as if unchanged.
        knownSize: expected?.size ?? null,
        description: this.description,
        ...(signal ? { signal } : {}),
        ...(this.#youngGcEveryBytes !== undefined ? { youngGcEveryBytes: this.#youngGcEveryBytes } : {}),
      });

    if (res.statusCode === 206) {
      if (start === 0)
        throw new SourceProtocolError(`${this.description} sent 206 to a request without Range`);
      const range = parseContentRange(headerValue(res.headers, 'content-range'));
      if (range === null || range.first !== start) {
        throw new SourceProtocolError(
          `${this.description}: 206 with a Content-Range not starting at ${start}`,
        );
      }
      // Unknown total (`/*`): the range must still end where the known content ends.
      if (range.total === null && expected?.size != null && range.last + 1 !== expected.size) {
        throw changed('range end');
      }
      const actual = identityFromHeaders(res.headers, range.total);
      if (expected && !identitiesMatch(expected, actual)) throw changed('validators or size');
      this.#assertSize(range.total);
      const bodyLength = parseLength(headerValue(res.headers, 'content-length'));
      if (bodyLength !== null && bodyLength !== range.last - range.first + 1) {
        throw new SourceProtocolError(`${this.description}: Content-Length disagrees with Content-Range`);
      }
      return reader(start, range.total ?? range.last + 1);
    }

    if (res.statusCode === 200) {
      const size = parseLength(headerValue(res.headers, 'content-length'));
      const actual = identityFromHeaders(res.headers, size);
      // With If-Range, a 200 means a changed entity or a server ignoring Range; the validators tell which.
      if (expected && !identitiesMatch(expected, actual)) throw changed('validators or size');
      this.#assertSize(size);
      if (size !== null && start > size) throw changed('shorter than the resume position');
      const r = reader(0, size);
      if (start > 0) await r.skip(start, signal);
      return r;
    }

    if (res.statusCode === 412) throw changed('precondition failed');
    if (res.statusCode === 416) {
      const total = parseUnsatisfiedRangeTotal(headerValue(res.headers, 'content-range'));
      const size = expected?.size ?? null;
      // Asking from the very end of an unchanged source: nothing left to read.
      if (size !== null && start >= size && (total === null || total === size)) {
        discardBody(res.body);
        return reader(start, start);
      }
      throw changed('range not satisfiable');
    }
    throw statusError(res.statusCode, res.headers, this.description);
  }
}
