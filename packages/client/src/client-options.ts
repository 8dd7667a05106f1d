/** Options of `new MediaferryClient(...)`. */
export interface MediaferryClientOptions {
  /** The API's base URL, e.g. `http://127.0.0.1:8080` (a path prefix is kept: `https://h/mediaferry`). */
  baseUrl: string;
  /** Bearer token of the calling service. Sent only in the Authorization header; never in errors. */
  token: string;
  /** Fetch implementation. @defaultValue `globalThis.fetch` (undici in Node 24) */
  fetch?: typeof fetch;
  /**
   * Per-request timeout, covering the response body. For event streams it covers only the wait for the
   * response headers (the stream itself lasts until the job ends). @defaultValue 30_000
   */
  timeoutMs?: number;
  /**
   * Extra attempts for requests that are safe to repeat (GET, DELETE, retry, and creates that carry an
   * idempotency key) after a network error, 408, 429 or 5xx; `Retry-After` is honoured. @defaultValue 2
   */
  retries?: number;
  /** First back-off delay between those attempts; doubles each time, with jitter. @defaultValue 250 */
  retryBaseDelayMs?: number;
  /** Sent as `User-Agent`. @defaultValue `mediaferry-client/1` */
  userAgent?: string;
}

export const CLIENT_DEFAULTS = {
  timeoutMs: 30_000,
  retries: 2,
  retryBaseDelayMs: 250,
  userAgent: 'mediaferry-client/1',
} as const;
