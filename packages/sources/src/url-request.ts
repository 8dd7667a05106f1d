import { SourceForbiddenError, SourceProtocolError, throwIfAborted } from '@mediaferry/core';
import { type Dispatcher, request } from 'undici';
import { MAX_REDIRECTS, type UrlTimeouts } from './source-policy.js';
import { assertHttpUrl } from './ssrf-guard.js';
import { headerValue, requestError } from './url-response.js';

/** One HTTP request to a URL source, following redirects by hand so every hop is checked. */

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * Headers a job may not set: hop-by-hop and framing headers (undici refuses some, the others would
 * corrupt the exchange), and the ones this package owns (Range, If-Range, Accept-Encoding).
 */
const RESERVED_HEADERS = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'content-length',
  'range',
  'if-range',
  'accept-encoding',
]);

/** Sent only to the origin they were meant for, as fetch does on a cross-origin redirect. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);

/** Lower-cased job headers without the reserved ones. */
export function sanitizeHeaders(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const lower = name.toLowerCase();
    if (!RESERVED_HEADERS.has(lower)) out[lower] = value;
  }
  return out;
}

/**
 * WHATWG percent-decode: `%XX` becomes a byte, anything else stays as it is. Unlike `decodeURIComponent`
 * it never throws, so a malformed `user%ZZ@` (in a job URL or a redirect's Location) is not a URIError.
 */
function percentDecode(value: string): string {
  const bytes = Buffer.from(value, 'utf8');
  const out = Buffer.alloc(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const hex = bytes[i] === 0x25 ? bytes.subarray(i + 1, i + 3).toString('latin1') : '';
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      out[n++] = Number.parseInt(hex, 16);
      i += 2;
    } else {
      out[n++] = bytes[i] ?? 0;
    }
  }
  return out.subarray(0, n).toString('utf8');
}

/** Moves `user:pass@` out of the URL into an Authorization header (unless the job set one). */
export function splitCredentials(url: URL, headers: Record<string, string>): URL {
  if (url.username === '' && url.password === '') return url;
  const bare = new URL(url.href);
  bare.username = '';
  bare.password = '';
  if (headers.authorization === undefined) {
    const user = percentDecode(url.username);
    const pass = percentDecode(url.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  }
  return bare;
}

/**
 * Abandons a response body. undici turns `destroy()` of an unfinished body into an 'error' event, which
 * would be an uncaught exception without a listener.
 */
export function discardBody(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  if (!body.destroyed) body.destroy();
}

/** What logs may show of a URL: origin and path, never userinfo or query. */
export function describeUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

export interface SourceRequestOptions {
  method: 'GET' | 'HEAD';
  /** Job headers (sanitized) plus the request's own (Range...). */
  headers: Record<string, string>;
  dispatcher: Dispatcher;
  timeouts: UrlTimeouts;
  signal?: AbortSignal;
}

export interface SourceResponse {
  /** The URL that answered (after redirects). */
  url: URL;
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
}

/**
 * Sends the request and follows at most {@link MAX_REDIRECTS} redirects. Each hop is re-checked: http(s)
 * only here, and the SSRF policy by the guarded dispatcher when it connects. Credentials headers are
 * dropped once a redirect leaves the original origin.
 */
export async function sendSourceRequest(start: URL, options: SourceRequestOptions): Promise<SourceResponse> {
  let url = start;
  let headers = options.headers;
  const description = describeUrl(start);
  for (let hop = 0; ; hop++) {
    throwIfAborted(options.signal);
    assertHttpUrl(url);
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method: options.method,
        headers,
        dispatcher: options.dispatcher,
        signal: options.signal,
        headersTimeout: options.timeouts.headersMs,
        bodyTimeout: options.timeouts.bodyIdleMs,
      });
    } catch (err) {
      throw requestError(err, description, options.signal);
    }
    const location = headerValue(res.headers, 'location');
    if (!REDIRECT_STATUSES.has(res.statusCode) || location === null) {
      return { url, statusCode: res.statusCode, headers: res.headers, body: res.body };
    }
    // A redirect's own body is of no use; drain a little so the connection can be reused.
    res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
    if (hop >= MAX_REDIRECTS) {
      throw new SourceProtocolError(`${description}: more than ${MAX_REDIRECTS} redirects`, {
        details: { reason: 'TOO_MANY_REDIRECTS' },
      });
    }
    let next: URL;
    try {
      next = new URL(location, url);
    } catch (err) {
      throw new SourceProtocolError(`${description}: invalid redirect location`, { cause: err });
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      throw new SourceForbiddenError(
        `${description} redirects to a ${next.protocol} URL (only http and https)`,
        {
          details: { reason: 'SCHEME' },
        },
      );
    }
    headers = { ...headers };
    if (next.origin !== start.origin) {
      headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !CREDENTIAL_HEADERS.has(k)));
    }
    url = splitCredentials(next, headers);
  }
}
