import { setTimeout as sleep } from 'node:timers/promises';
import { AbortError, NetworkError, TimeoutError } from '@mediaferry/core';
import { ApiError } from './api-error.js';
import { CLIENT_DEFAULTS, type MediaferryClientOptions } from './client-options.js';

export interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal | undefined;
  /** Whether repeating the request is harmless (see `MediaferryClientOptions.retries`). */
  idempotent: boolean;
}

export interface JsonResponse<T> {
  status: number;
  body: T;
}

/** An open response whose body the caller consumes; `close()` releases the connection. */
export interface StreamResponse {
  response: Response;
  close(): void;
}

/**
 * HTTP plumbing shared by every client method: URL building, auth, timeouts, typed errors and the
 * retry loop. Every failure surfaces as ApiError, NetworkError, TimeoutError or AbortError.
 */
export class HttpTransport {
  readonly #baseUrl: string;
  readonly #token: string;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #retryBaseDelayMs: number;
  readonly #userAgent: string;

  constructor(options: MediaferryClientOptions) {
    if (!/^https?:\/\//i.test(options.baseUrl)) {
      throw new TypeError(`baseUrl must be an http(s) URL, got "${options.baseUrl}"`);
    }
    if (!options.token) throw new TypeError('token is required');
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#token = options.token;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#timeoutMs = options.timeoutMs ?? CLIENT_DEFAULTS.timeoutMs;
    this.#retries = options.retries ?? CLIENT_DEFAULTS.retries;
    this.#retryBaseDelayMs = options.retryBaseDelayMs ?? CLIENT_DEFAULTS.retryBaseDelayMs;
    this.#userAgent = options.userAgent ?? CLIENT_DEFAULTS.userAgent;
  }

  url(path: string, query?: RequestOptions['query']): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    return `${this.#baseUrl}${path}${qs ? `?${qs}` : ''}`;
  }

  /** Sends a JSON request and parses a JSON answer, retrying when that is safe. */
  async json<T>(method: string, path: string, options: RequestOptions): Promise<JsonResponse<T>> {
    const attempts = options.idempotent ? this.#retries + 1 : 1;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#jsonOnce<T>(method, path, options);
      } catch (err) {
        const retryable =
          err instanceof ApiError || err instanceof NetworkError || err instanceof TimeoutError;
        if (!retryable || !err.retryable || attempt >= attempts) throw err;
        const backoff = this.#retryBaseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2);
        const delay = err instanceof ApiError && err.retryAfterMs !== undefined ? err.retryAfterMs : backoff;
        await abortableSleep(Math.min(delay, 30_000), options.signal);
      }
    }
  }

  async #jsonOnce<T>(method: string, path: string, options: RequestOptions): Promise<JsonResponse<T>> {
    const { signal, done } = this.#deadline(options.signal);
    try {
      const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
      let body: string | undefined;
      if (options.body !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(options.body);
      }
      const response = await this.#send(method, this.url(path, options.query), headers, body, signal);
      const text = await response.text().catch((err: unknown) => {
        throw this.#mapFailure(err, options.signal, signal);
      });
      if (!response.ok) {
        throw ApiError.fromResponse(
          response.status,
          response.statusText,
          text,
          response.headers.get('retry-after'),
        );
      }
      try {
        return { status: response.status, body: JSON.parse(text) as T };
      } catch (cause) {
        throw new ApiError(response.status, 'INVALID_RESPONSE', `${method} ${path} answered non-JSON`, {
          cause,
        });
      }
    } finally {
      done();
    }
  }

  /**
   * Opens a streaming GET. The timeout covers only the wait for response headers; afterwards only
   * `signal` (or `close()`) ends it. Non-2xx answers become ApiError.
   */
  async stream(path: string, accept: string, signal: AbortSignal | undefined): Promise<StreamResponse> {
    const controller = new AbortController();
    const combined = signal ? AbortSignal.any([signal, controller.signal]) : controller.signal;
    const timer = setTimeout(() => controller.abort(new TimeoutError('timed out')), this.#timeoutMs);
    try {
      const response = await this.#send('GET', this.url(path), { accept }, undefined, combined);
      if (!response.ok) {
        const text = await response.text().catch(() => '');
        throw ApiError.fromResponse(
          response.status,
          response.statusText,
          text,
          response.headers.get('retry-after'),
        );
      }
      return { response, close: () => controller.abort(new AbortError('stream closed')) };
    } catch (err) {
      controller.abort();
      throw this.#mapFailure(err, signal, combined);
    } finally {
      clearTimeout(timer);
    }
  }

  async #send(
    method: string,
    url: string,
    headers: Record<string, string>,
    body: string | undefined,
    signal: AbortSignal,
  ): Promise<Response> {
    try {
      return await this.#fetch(url, {
        method,
        headers: {
          ...headers,
          // A ticket redeem carries its own `Authorization: Ticket …`.
          authorization: headers.authorization ?? `Bearer ${this.#token}`,
          'user-agent': this.#userAgent,
        },
        ...(body === undefined ? {} : { body }),
        signal,
        redirect: 'error',
      });
    } catch (err) {
      throw this.#mapFailure(err, undefined, signal);
    }
  }

  /** A signal that fires on the caller's abort or after `timeoutMs`; `done()` clears the timer. */
  #deadline(outer: AbortSignal | undefined): { signal: AbortSignal; done: () => void } {
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new TimeoutError(`request timed out after ${this.#timeoutMs} ms`)),
      this.#timeoutMs,
    );
    const signal = outer ? AbortSignal.any([outer, controller.signal]) : controller.signal;
    return { signal, done: () => clearTimeout(timer) };
  }

  /** fetch's TypeError('fetch failed') / DOMException aborts → our typed errors. */
  #mapFailure(err: unknown, outer: AbortSignal | undefined, combined: AbortSignal): unknown {
    if (err instanceof ApiError || err instanceof NetworkError || err instanceof AbortError) return err;
    if (err instanceof TimeoutError) return err;
    if (outer?.aborted) return new AbortError('The request was aborted', { cause: outer.reason });
    if (combined.aborted) {
      const reason: unknown = combined.reason;
      if (reason instanceof TimeoutError || reason instanceof AbortError) return reason;
      return new AbortError('The request was aborted', { cause: reason });
    }
    const cause = (err as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
    const code = typeof cause?.code === 'string' ? cause.code : undefined;
    const detail = typeof cause?.message === 'string' ? cause.message : String(err);
    return new NetworkError(`could not reach the mediaferry API at ${this.#baseUrl}: ${detail}`, {
      cause: err,
      ...(code ? { details: { code } } : {}),
    });
  }
}

/** Sleeps, or rejects with our AbortError when `signal` fires. */
export async function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(ms, undefined, signal ? { signal } : undefined);
  } catch (err) {
    throw new AbortError('The operation was aborted', { cause: signal?.reason ?? err });
  }
}
