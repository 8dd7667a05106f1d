import { createHash } from 'node:crypto';
import type { JobView } from '@mediaferry/core';

/** BullMQ queue that carries webhook deliveries (beside `uploads`, under the same prefix). */
export const WEBHOOK_QUEUE_NAME = 'webhooks';
export const WEBHOOK_JOB_NAME = 'deliver';

export const WEBHOOK_EVENTS = ['job.succeeded', 'job.failed', 'job.canceled'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
/** Events of client uploads (CONTRACT §2), body `{event, clientUpload}`. */
export const CLIENT_UPLOAD_WEBHOOK_EVENTS = [
  'client_upload.completed',
  'client_upload.rejected',
  'client_upload.expired',
] as const;
export type ClientUploadWebhookEvent = (typeof CLIENT_UPLOAD_WEBHOOK_EVENTS)[number];

/** The JSON body POSTed to a callback URL (CONTRACT §3). */
export interface WebhookPayload {
  event: WebhookEvent;
  job: JobView;
}

/** What the queue stores per delivery: the body is serialised once so every retry signs the same bytes. */
export interface WebhookDeliveryData {
  deliveryId: string;
  service: string;
  callbackUrl: string;
  event: WebhookEvent | ClientUploadWebhookEvent;
  /** The job's id, or the client upload's (`cu_…`). */
  jobId: string;
  body: string;
  /** Carried with the delivery so producer and worker agree on the policy. */
  maxDelayMs: number;
}

/** `job.succeeded` for a succeeded job, etc.; undefined for a status that is not terminal. */
export function eventForStatus(status: JobView['status']): WebhookEvent | undefined {
  const event = `job.${status}`;
  return (WEBHOOK_EVENTS as readonly string[]).includes(event) ? (event as WebhookEvent) : undefined;
}

/**
 * The same job ending the same way yields the same id, so enqueueing twice (a worker that crashes
 * after finishing a job and runs its epilogue again) is one delivery; a retried job that ends again
 * (new `finishedAt`) is a new one. Also the BullMQ job id (no `:` allowed there).
 */
export function deliveryIdFor(
  service: string,
  job: JobView,
  event: WebhookEvent,
  callbackUrl: string,
): string {
  const hash = createHash('sha256')
    .update([service, job.id, event, job.finishedAt ?? '', callbackUrl].join('\n'))
    .digest('hex');
  return `whd_${hash.slice(0, 32)}`;
}

/** Origin and path only: query strings of callback URLs often carry tokens, which never reach logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return '(invalid URL)';
  }
}
