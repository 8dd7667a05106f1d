import { EventEmitter } from 'node:events';
import { classify } from '@mediaferry/core';
import { createGuardedDispatcher } from '@mediaferry/sources';
import { type ConnectionOptions, type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Dispatcher } from 'undici';
import { redactUrl, WEBHOOK_QUEUE_NAME, type WebhookDeliveryData } from './webhook-delivery.js';
import { DEFAULT_WEBHOOK_RETRY, webhookRetryDelay } from './webhook-retry.js';
import { sendWebhook, WebhookRefusedError, WebhookRejectedError } from './webhook-sender.js';

/** pino-compatible. */
export interface WebhookLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface WebhookWorkerOptions {
  connection: ConnectionOptions;
  /** @defaultValue 'mediaferry' */
  prefix?: string;
  /** service → HMAC secret (MEDIAFERRY_WEBHOOK_SECRETS). A delivery for a service without one is dropped. */
  secrets: ReadonlyMap<string, string>;
  /** Callback URLs follow the URL-source SSRF policy (MEDIAFERRY_URL_ALLOW_PRIVATE). */
  urlPolicy: { allowPrivate: boolean; allowedCidrs?: readonly string[] };
  /** @defaultValue a logger that drops everything */
  logger?: WebhookLogger;
  /** Deliveries in flight. @defaultValue 8 */
  concurrency?: number;
  /** Per attempt, connect to end of the response headers and body. @defaultValue 10_000 */
  timeoutMs?: number;
  /** Overrides the guarded dispatcher (tests); must enforce the same SSRF policy. */
  dispatcher?: Dispatcher;
}

export interface DeliveryInfo {
  deliveryId: string;
  service: string;
  event: string;
  jobId: string;
  /** 1-based number of this attempt. */
  attempt: number;
}

export interface WebhookWorkerEvents {
  delivered: [info: DeliveryInfo & { status: number }];
  /** A failed attempt that will be retried after `delayMs`-ish (BullMQ applies the backoff). */
  retrying: [info: DeliveryInfo & { error: { code: string; message: string } }];
  /** No more attempts: the delivery is abandoned (410 Gone, refused URL, or out of attempts). */
  'gave-up': [info: DeliveryInfo & { error: { code: string; message: string } }];
}

type Outcome =
  | { kind: 'delivered'; info: WebhookWorkerEvents['delivered'][0]; url: string }
  | { kind: 'retrying' | 'gave-up'; info: WebhookWorkerEvents['gave-up'][0]; url: string };

const silent: WebhookLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** A running webhook worker; `close()` waits for in-flight deliveries. */
export class WebhookWorker extends EventEmitter<WebhookWorkerEvents> {
  readonly worker: Worker<WebhookDeliveryData, number, string>;
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  #closing: Promise<void> | undefined;

  constructor(options: WebhookWorkerOptions) {
    super();
    const logger = options.logger ?? silent;
    const timeoutMs = options.timeoutMs ?? 10_000;
    this.#ownsDispatcher = options.dispatcher === undefined;
    this.#dispatcher =
      options.dispatcher ??
      createGuardedDispatcher({
        allowPrivate: options.urlPolicy.allowPrivate,
        allowedCidrs: options.urlPolicy.allowedCidrs ?? [],
        connectTimeoutMs: timeoutMs,
      });

    // Outcomes are reported once BullMQ has recorded them ('completed' / 'failed'), so a listener
    // that inspects the queue sees the final state.
    const outcomes = new Map<string, Outcome>();

    const process = async (job: Job<WebhookDeliveryData, number, string>): Promise<number> => {
      const d = job.data;
      const info: DeliveryInfo = {
        deliveryId: d.deliveryId,
        service: d.service,
        event: d.event,
        jobId: d.jobId,
        attempt: job.attemptsMade + 1,
      };
      try {
        const secret = options.secrets.get(d.service);
        if (!secret)
          throw new WebhookRefusedError(`no webhook secret is configured for service ${d.service}`);
        const status = await sendWebhook(d, { secret, dispatcher: this.#dispatcher, timeoutMs });
        outcomes.set(job.id!, { kind: 'delivered', info: { ...info, status }, url: d.callbackUrl });
        return status;
      } catch (err) {
        // The one retry policy (`@mediaferry/core`): a refused URL, a 410 and bugs are not retried.
        const { code, message, retryable } = classify(err);
        const attempts = job.opts.attempts ?? 1;
        const final = !retryable || info.attempt >= attempts;
        const outcome: Outcome = {
          kind: final ? 'gave-up' : 'retrying',
          info: { ...info, error: { code, message } },
          url: d.callbackUrl,
        };
        outcomes.set(job.id!, outcome);
        // UnrecoverableError tells BullMQ to skip the remaining attempts.
        if (final && info.attempt < attempts) throw new UnrecoverableError(`${code}: ${message}`);
        throw err;
      }
    };

    const report = (jobId: string | undefined) => {
      const outcome = jobId === undefined ? undefined : outcomes.get(jobId);
      if (!outcome || jobId === undefined) return;
      outcomes.delete(jobId);
      const log = { ...outcome.info, url: redactUrl(outcome.url) };
      if (outcome.kind === 'delivered') {
        logger.info(log, 'webhook delivered');
        this.emit('delivered', outcome.info);
      } else if (outcome.kind === 'retrying') {
        logger.warn(log, 'webhook attempt failed; will retry');
        this.emit('retrying', outcome.info);
      } else {
        logger.error(log, 'webhook abandoned');
        this.emit('gave-up', outcome.info);
      }
    };

    this.worker = new Worker(WEBHOOK_QUEUE_NAME, process, {
      connection: options.connection,
      prefix: options.prefix ?? 'mediaferry',
      concurrency: options.concurrency ?? 8,
      // A delivery can take up to `timeoutMs`; the lock must outlive it comfortably.
      lockDuration: Math.max(30_000, timeoutMs * 3),
      settings: {
        backoffStrategy: (attemptsMade, _type, err, job) => {
          const data = job?.data as WebhookDeliveryData | undefined;
          const base = (job?.opts.backoff as { delay?: number } | undefined)?.delay;
          return webhookRetryDelay(
            attemptsMade,
            {
              attempts: job?.opts.attempts ?? DEFAULT_WEBHOOK_RETRY.attempts,
              baseDelayMs: base ?? DEFAULT_WEBHOOK_RETRY.baseDelayMs,
              maxDelayMs: data?.maxDelayMs ?? DEFAULT_WEBHOOK_RETRY.maxDelayMs,
            },
            err instanceof WebhookRejectedError ? err.retryAfterMs : undefined,
          );
        },
      },
    });
    this.worker.on('completed', (job) => report(job.id));
    this.worker.on('failed', (job) => report(job?.id));
    this.worker.on('error', (err) => logger.error({ err }, 'webhook worker error'));
  }

  /** Resolves once the worker is connected and taking deliveries. */
  async ready(): Promise<void> {
    await this.worker.waitUntilReady();
  }

  /** Stops taking deliveries, waits for those in flight, closes connections. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await this.worker.close();
      } finally {
        if (this.#ownsDispatcher) await this.#dispatcher.close().catch(() => {});
      }
    })();
    return this.#closing;
  }
}

/** Starts delivering queued webhooks (CONTRACT §3). */
export function startWebhookWorker(options: WebhookWorkerOptions): WebhookWorker {
  return new WebhookWorker(options);
}
