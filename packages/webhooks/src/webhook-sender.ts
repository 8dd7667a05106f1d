import { AbortError, MediaferryError, NetworkError, TimeoutError } from '@mediaferry/core';
import { type Dispatcher, request } from 'undici';
import type { WebhookDeliveryData } from './webhook-delivery.js';
import { signWebhook } from './webhook-signature.js';

export const WEBHOOK_USER_AGENT = 'mediaferry-webhooks/1';

/** The receiver answered something other than 2xx: retried (except 410). */
export class WebhookRejectedError extends MediaferryError {
  override name = 'WebhookRejectedError';
  readonly status: number;
  readonly retryAfterMs: number | undefined;
  constructor(status: number, retryAfterMs?: number) {
    super('WEBHOOK_REJECTED', `the receiver answered HTTP ${status}`, status !== 410, {
      details: { status },
    });
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
}

/** The callback URL is not deliverable at all (bad URL, refused by the SSRF policy, no secret). */
export class WebhookRefusedError extends MediaferryError {
  override name = 'WebhookRefusedError';
  constructor(message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super('WEBHOOK_REFUSED', message, false, options);
  }
}

export interface SendWebhookOptions {
  secret: string;
  /** Enforces the SSRF policy on every connection (`createGuardedDispatcher`). */
  dispatcher: Dispatcher;
  timeoutMs: number;
  signal?: AbortSignal;
  now?: () => number;
}

/** Finds a SourceForbiddenError (the SSRF guard's refusal) anywhere in a cause chain. */
function forbiddenCause(err: unknown): Error | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if ((e as { code?: unknown }).code === 'SOURCE_FORBIDDEN' || e.name === 'SourceForbiddenError') return e;
  }
  return undefined;
}

function retryAfter(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/**
 * One delivery attempt: POST the stored body, signed now, with a fresh timestamp. Redirects are not
 * followed (a 3xx is a failed attempt). Resolves with the 2xx status; throws WebhookRejectedError,
 * WebhookRefusedError (SSRF), NetworkError or TimeoutError.
 */
export async function sendWebhook(
  delivery: WebhookDeliveryData,
  options: SendWebhookOptions,
): Promise<number> {
  let url: URL;
  try {
    url = new URL(delivery.callbackUrl);
  } catch (cause) {
    throw new WebhookRefusedError('the callback URL is not a valid URL', { cause });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new WebhookRefusedError(`callback URL scheme ${url.protocol} is not allowed`);
  }
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const timestamp = Math.floor((options.now?.() ?? Date.now()) / 1000);
  try {
    const response = await request(url, {
      method: 'POST',
      dispatcher: options.dispatcher,
      signal,
      body: delivery.body,
      headers: {
        'content-type': 'application/json',
        'user-agent': WEBHOOK_USER_AGENT,
        'x-mediaferry-signature': signWebhook(delivery.body, options.secret),
        'x-mediaferry-timestamp': String(timestamp),
        'x-mediaferry-delivery': delivery.deliveryId,
        'x-mediaferry-event': delivery.event,
      },
    });
    // Read (and drop) a bounded amount of the answer so the connection can be reused.
    await response.body.dump({ limit: 64 * 1024 }).catch(() => {});
    if (response.statusCode >= 200 && response.statusCode < 300) return response.statusCode;
    throw new WebhookRejectedError(response.statusCode, retryAfter(response.headers['retry-after']));
  } catch (err) {
    if (err instanceof WebhookRejectedError) throw err;
    const forbidden = forbiddenCause(err);
    if (forbidden) {
      throw new WebhookRefusedError(forbidden.message, { cause: err, details: { reason: 'SSRF_POLICY' } });
    }
    if (options.signal?.aborted) throw new AbortError('delivery aborted', { cause: err });
    if (timeout.aborted) throw new TimeoutError(`the receiver did not answer within ${options.timeoutMs} ms`);
    const code = (err as { code?: unknown }).code;
    throw new NetworkError(`could not deliver: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
      ...(typeof code === 'string' ? { details: { code } } : {}),
    });
  }
}
