import type { ErrorCode } from './error-codes.js';
import {
  AbortError,
  CredentialsExpiredError,
  isAbortError,
  MediaferryError,
  NetworkError,
  ThrottledError,
  TimeoutError,
} from './errors.js';

/**
 * Whether an error is retried, why, and after how long — decided in this one place for the engine
 * (parts, VOD/OSS calls), the worker (job attempts) and the webhooks, like undici's retry handler: the
 * policy is data (status codes, network error codes, error codes, backoff) plus one overridable
 * function (`decide`).
 */

/** Why something was retried; the worker's `mediaferry_part_retries_total{reason}`. */
export type RetryReason =
  | 'network'
  | '5xx'
  | 'throttled'
  | 'timeout'
  | 'credentials'
  | 'integrity'
  | 'source'
  | 'other';

export interface RetryDecision {
  retryable: boolean;
  /** Why it is retried; `fatal` when it is not. */
  reason: RetryReason | 'fatal';
  /** Wait before the retry (backoff with jitter, at least the server's Retry-After); 0 when fatal. */
  delayMs: number;
}

export interface BackoffOptions {
  /** Base delay before the first retry. @defaultValue 200 */
  baseMs: number;
  /** Cap on the exponential part (a server's Retry-After may ask for more and is honoured). @defaultValue 20000 */
  maxMs: number;
  /**
   * Longest Retry-After honoured (a proxy answering `Retry-After: 86400` must not park a part for a
   * day); longer requests wait this long. @defaultValue `max(maxMs, 300000)` (5 minutes)
   */
  maxRetryAfterMs?: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({ baseMs: 200, maxMs: 20_000 });

export interface RetryContext {
  /**
   * `operation`: retrying the same call in place (a part, a VOD request). `job`: a new attempt of the
   * whole job, which starts by reconciling with the server, so a vanished multipart upload or a
   * credential that cannot be refreshed is worth one (the attempt starts over / prepares again).
   * @defaultValue 'operation'
   */
  scope?: 'operation' | 'job';
  /** The retry this would be (1 = first retry), for the delay. @defaultValue 1 */
  attempt?: number;
  /** @defaultValue DEFAULT_RETRY_POLICY */
  policy?: RetryPolicy;
}

export interface RetryPolicy {
  /** HTTP statuses worth retrying, for errors that carry a `status` and no own classification. */
  statusCodes: ReadonlySet<number>;
  /** Node / undici / ali-oss network error codes worth retrying (`err.code`). */
  networkCodes: ReadonlySet<string>;
  /** Codes retrying the same operation cannot fix, though a new job attempt can. */
  jobOnlyCodes: ReadonlySet<ErrorCode>;
  /** Codes never retried, whatever the error's own flag says. */
  fatalCodes: ReadonlySet<ErrorCode>;
  /**
   * Messages of errors from a store that is unreachable or failing over (ioredis while Redis restarts, a
   * Cluster electing a replica, Sentinel switching masters): retried like network errors.
   * @defaultValue REDIS_UNAVAILABLE_MESSAGE
   */
  unavailableMessages: RegExp;
  /** Whether an error nobody classified (a TypeError, a bug) is retried. @defaultValue false */
  retryUnknown: boolean;
  backoff: BackoffOptions;
  /** The decision itself; replace it to change the policy beyond the data above. */
  decide: (
    err: unknown,
    context: Required<Omit<RetryContext, 'policy'>>,
    policy: RetryPolicy,
  ) => RetryDecision;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** The default decision: the error's own classification first, then the policy's data. */
export function defaultDecide(
  err: unknown,
  context: Required<Omit<RetryContext, 'policy'>>,
  policy: RetryPolicy,
): RetryDecision {
  const reason = retryReason(err, context, policy);
  if (reason === null) return { retryable: false, reason: 'fatal', delayMs: 0 };
  return {
    retryable: true,
    reason,
    delayMs: backoffDelay(context.attempt, policy.backoff, retryAfterOf(err)),
  };
}

function retryReason(
  err: unknown,
  { scope }: Required<Omit<RetryContext, 'policy'>>,
  policy: RetryPolicy,
): RetryReason | null {
  if (err instanceof AbortError || isAbortError(err)) return null;
  const status = statusOf(err);
  if (err instanceof MediaferryError) {
    if (policy.fatalCodes.has(err.code)) return null;
    if (policy.jobOnlyCodes.has(err.code)) return scope === 'job' ? 'other' : null;
    if (err instanceof CredentialsExpiredError) {
      // A credential VOD cannot refresh (image, attached media): only preparing again helps.
      if (err.details?.refreshable === false) return scope === 'job' ? 'credentials' : null;
      return err.retryable ? 'credentials' : null;
    }
    // The thrower's flag, or a status the policy retries (a 429 from OSS is a StorageError).
    if (!err.retryable && !(status !== undefined && policy.statusCodes.has(status))) return null;
    if (err instanceof TimeoutError) return 'timeout';
    if (err instanceof ThrottledError || status === 429) return 'throttled';
    if (err instanceof NetworkError) return 'network';
    if (status !== undefined && status >= 500) return '5xx';
    if (err.code === 'INTEGRITY_MISMATCH') return 'integrity';
    if (err.code === 'SOURCE_UNAVAILABLE') return 'source';
    return 'other';
  }
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && policy.networkCodes.has(code)) return 'network';
    if (err.name === 'MaxRetriesPerRequestError' || policy.unavailableMessages.test(err.message))
      return 'network';
    if (status !== undefined && policy.statusCodes.has(status))
      return status === 429 ? 'throttled' : status >= 500 ? '5xx' : 'other';
  }
  return policy.retryUnknown ? 'other' : null;
}

/** How ioredis and BullMQ phrase a Redis that is down, unreachable or in the middle of a failover. */
export const REDIS_UNAVAILABLE_MESSAGE =
  /Connection is closed|Stream isn't writeable|enableOfflineQueue|Command timed out|ECONNREFUSED|ECONNRESET|Reached the max retries|Redis (is )?unavailable|Connection in subscriber mode|^(CLUSTERDOWN|TRYAGAIN|READONLY|LOADING|MASTERDOWN)|slots cache|startup nodes|Cluster redirections/i;

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  statusCodes: new Set([408, 429, ...range(500, 599)]),
  networkCodes: new Set([
    'ECONNRESET',
    'ECONNREFUSED',
    'ECONNABORTED',
    'EPIPE',
    'ETIMEDOUT',
    'ENOTFOUND',
    'EAI_AGAIN',
    'ENETUNREACH',
    'ENETDOWN',
    'EHOSTUNREACH',
    'EHOSTDOWN',
    'UND_ERR_SOCKET',
    'UND_ERR_CONNECT_TIMEOUT',
    'UND_ERR_HEADERS_TIMEOUT',
    'UND_ERR_BODY_TIMEOUT',
    'UND_ERR_CLOSED',
    'ResponseTimeoutError',
    'ConnectionTimeoutError',
    'RequestError',
  ]),
  jobOnlyCodes: new Set<ErrorCode>(['NO_SUCH_UPLOAD']),
  fatalCodes: new Set<ErrorCode>(['ABORTED', 'CANCELED', 'OWNERSHIP_LOST']),
  unavailableMessages: REDIS_UNAVAILABLE_MESSAGE,
  retryUnknown: false,
  backoff: DEFAULT_BACKOFF,
  decide: defaultDecide,
});

/** A policy with some fields replaced (the rest from `base`). */
export function retryPolicy(
  overrides: Partial<RetryPolicy>,
  base: RetryPolicy = DEFAULT_RETRY_POLICY,
): RetryPolicy {
  return Object.freeze({ ...base, ...overrides });
}

/** The policy's decision for `err` (see `RetryContext` for the defaults). */
export function decideRetry(err: unknown, context: RetryContext = {}): RetryDecision {
  const policy = context.policy ?? DEFAULT_RETRY_POLICY;
  return policy.decide(err, { scope: context.scope ?? 'operation', attempt: context.attempt ?? 1 }, policy);
}

/** Whether a Node/undici network error code is worth retrying under the default policy. */
export function isRetryableNetworkCode(code: unknown): boolean {
  return typeof code === 'string' && DEFAULT_RETRY_POLICY.networkCodes.has(code);
}

/** Statuses worth retrying on any HTTP API under the default policy. */
export function isRetryableStatus(status: number): boolean {
  return DEFAULT_RETRY_POLICY.statusCodes.has(status);
}

function statusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { status?: unknown; statusCode?: unknown };
  const status = typeof e.status === 'number' ? e.status : e.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** Milliseconds the server asked us to wait (Retry-After), if it did. */
export function retryAfterOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const own = (err as { retryAfterMs?: unknown }).retryAfterMs;
  if (typeof own === 'number') return own;
  const value = err instanceof MediaferryError ? err.details?.retryAfterMs : undefined;
  return typeof value === 'number' ? value : undefined;
}

/**
 * Delay before retry number `retry` (1 = first retry): "equal jitter" under an exponential ceiling,
 * uniformly in [ceiling / 2, ceiling] with ceiling = min(maxMs, baseMs · 2^(retry − 1)), so retries of
 * parallel parts spread out but never come back at once. A server's `retryAfterMs` is a floor, capped
 * at `maxRetryAfterMs`.
 */
export function backoffDelay(
  retry: number,
  options: BackoffOptions = DEFAULT_BACKOFF,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const exp = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, Math.min(retry - 1, 30)));
  const jittered = exp / 2 + random() * (exp / 2);
  const cap = options.maxRetryAfterMs ?? Math.max(options.maxMs, 300_000);
  const floor =
    retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs > 0
      ? Math.min(retryAfterMs, cap)
      : 0;
  return Math.round(Math.max(jittered, floor));
}

/** Parses an HTTP `Retry-After` header (seconds or HTTP date) into milliseconds from `now`. */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
