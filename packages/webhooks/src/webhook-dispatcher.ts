import { createHash } from 'node:crypto';
import { type JobView, TimeoutError, ValidationError } from '@mediaferry/core';
import { type ConnectionOptions, Queue } from 'bullmq';
import {
  type ClientUploadWebhookEvent,
  deliveryIdFor,
  eventForStatus,
  WEBHOOK_JOB_NAME,
  WEBHOOK_QUEUE_NAME,
  type WebhookDeliveryData,
  type WebhookEvent,
  type WebhookPayload,
} from './webhook-delivery.js';
import { DEFAULT_WEBHOOK_RETRY, type WebhookRetryOptions } from './webhook-retry.js';
import type { WebhookLogger } from './webhook-worker.js';

export interface WebhookDispatcherOptions {
  /** Redis connection (an ioredis instance or options), as for the uploads queue. */
  connection: ConnectionOptions;
  /** Key prefix shared with the uploads queue. @defaultValue 'mediaferry' */
  prefix?: string;
  /** @defaultValue {@link DEFAULT_WEBHOOK_RETRY} (15 attempts, 10 s doubling, capped at 10 min: ≥ 67 min) */
  retry?: WebhookRetryOptions;
  /**
   * Longest wait for Redis to accept a delivery, so a Redis outage cannot stall the caller (the upload
   * worker finishing a job): enqueue then rejects with TimeoutError. @defaultValue 5_000
   */
  enqueueTimeoutMs?: number;
  /** Delivered deliveries kept (for dedupe of repeated enqueues and inspection). @defaultValue 24 h / 10,000 */
  removeOnComplete?: { age: number; count: number };
  /** Abandoned deliveries kept. @defaultValue 7 days / 10,000 */
  removeOnFail?: { age: number; count: number };
  /** Receives the queue's connection errors (an unhandled 'error' event would crash the process). */
  logger?: Pick<WebhookLogger, 'warn'>;
}

export interface EnqueueWebhookInput {
  service: string;
  callbackUrl: string;
  /** @defaultValue derived from `job.status` (which must then be terminal) */
  event?: WebhookEvent;
  /** The public view of the job (never a record with secrets). */
  job: JobView;
  /** @defaultValue {@link deliveryIdFor}: stable for the same job ending the same way */
  deliveryId?: string;
}

/**
 * Producer side of job webhooks: puts a delivery on the `webhooks` BullMQ queue and returns at once;
 * `startWebhookWorker` (any process) POSTs it. The body is serialised here, once.
 */
export class WebhookDispatcher {
  readonly queue: Queue<WebhookDeliveryData, number, string>;
  readonly #retry: Required<WebhookRetryOptions>;
  readonly #enqueueTimeoutMs: number;
  readonly #options: WebhookDispatcherOptions;
  #closing: Promise<void> | undefined;

  constructor(options: WebhookDispatcherOptions) {
    this.#options = options;
    this.#retry = { ...DEFAULT_WEBHOOK_RETRY, ...options.retry };
    this.#enqueueTimeoutMs = options.enqueueTimeoutMs ?? 5_000;
    this.queue = new Queue(WEBHOOK_QUEUE_NAME, {
      connection: options.connection,
      prefix: options.prefix ?? 'mediaferry',
    });
    this.queue.on('error', (err) => options.logger?.warn({ err }, 'webhook queue error'));
  }

  /** Queues one delivery; resolves with its id once Redis holds it (never waits for the receiver). */
  async enqueue(input: EnqueueWebhookInput): Promise<{ deliveryId: string }> {
    const event = input.event ?? eventForStatus(input.job.status);
    if (!event)
      throw new ValidationError(`job ${input.job.id} is ${input.job.status}: no webhook event for it`);
    const payload: WebhookPayload = { event, job: input.job };
    const deliveryId = input.deliveryId ?? deliveryIdFor(input.service, input.job, event, input.callbackUrl);
    return this.#add({
      deliveryId,
      service: input.service,
      callbackUrl: input.callbackUrl,
      event,
      jobId: input.job.id,
      body: JSON.stringify(payload),
      maxDelayMs: this.#retry.maxDelayMs,
    });
  }

  /**
   * Queues a client-upload webhook (`{event, clientUpload}`), signed and retried like a job's. The same
   * upload ending once yields one delivery id, so a repeated enqueue is one delivery.
   */
  async enqueueClientUpload(input: {
    service: string;
    callbackUrl: string;
    event: ClientUploadWebhookEvent;
    clientUpload: { id: string; finishedAt: string | null };
  }): Promise<{ deliveryId: string }> {
    const hash = createHash('sha256')
      .update(
        [
          input.service,
          input.clientUpload.id,
          input.event,
          input.clientUpload.finishedAt ?? '',
          input.callbackUrl,
        ].join('\n'),
      )
      .digest('hex');
    return this.#add({
      deliveryId: `whd_${hash.slice(0, 32)}`,
      service: input.service,
      callbackUrl: input.callbackUrl,
      event: input.event,
      jobId: input.clientUpload.id,
      body: JSON.stringify({ event: input.event, clientUpload: input.clientUpload }),
      maxDelayMs: this.#retry.maxDelayMs,
    });
  }

  async #add(data: WebhookDeliveryData): Promise<{ deliveryId: string }> {
    if (!/^https?:\/\//i.test(data.callbackUrl)) {
      throw new ValidationError('callbackUrl must be an http(s) URL');
    }
    const deliveryId = data.deliveryId;
    const adding = this.queue.add(WEBHOOK_JOB_NAME, data, {
      jobId: deliveryId,
      attempts: this.#retry.attempts,
      backoff: { type: 'webhook', delay: this.#retry.baseDelayMs },
      removeOnComplete: this.#options.removeOnComplete ?? { age: 24 * 3600, count: 10_000 },
      removeOnFail: this.#options.removeOnFail ?? { age: 7 * 24 * 3600, count: 10_000 },
    });
    adding.catch(() => {}); // after a timeout nobody awaits it any more
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new TimeoutError(`Redis did not accept the webhook within ${this.#enqueueTimeoutMs} ms`)),
        this.#enqueueTimeoutMs,
      );
    });
    try {
      await Promise.race([adding, deadline]);
    } finally {
      clearTimeout(timer);
    }
    return { deliveryId };
  }

  /** Closes the queue's connections it created. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= this.queue.close();
    return this.#closing;
  }
}
