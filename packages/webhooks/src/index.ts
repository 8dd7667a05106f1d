export {
  CLIENT_UPLOAD_WEBHOOK_EVENTS,
  type ClientUploadWebhookEvent,
  deliveryIdFor,
  eventForStatus,
  redactUrl,
  WEBHOOK_EVENTS,
  WEBHOOK_JOB_NAME,
  WEBHOOK_QUEUE_NAME,
  type WebhookDeliveryData,
  type WebhookEvent,
  type WebhookPayload,
} from './webhook-delivery.js';
export {
  type EnqueueWebhookInput,
  WebhookDispatcher,
  type WebhookDispatcherOptions,
} from './webhook-dispatcher.js';
export {
  DEFAULT_WEBHOOK_RETRY,
  JITTER_FLOOR,
  type WebhookRetryOptions,
  webhookRetryDelay,
  webhookRetryWindowMs,
} from './webhook-retry.js';
export {
  type SendWebhookOptions,
  sendWebhook,
  WEBHOOK_USER_AGENT,
  WebhookRefusedError,
  WebhookRejectedError,
} from './webhook-sender.js';
export { isFreshTimestamp, signWebhook, verifyWebhookSignature } from './webhook-signature.js';
export {
  type DeliveryInfo,
  startWebhookWorker,
  type WebhookLogger,
  WebhookWorker,
  type WebhookWorkerEvents,
  type WebhookWorkerOptions,
} from './webhook-worker.js';
