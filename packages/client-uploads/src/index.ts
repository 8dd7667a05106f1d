export {
  type ClientUploadLogger,
  ClientUploadService,
  type ClientUploadServiceDeps,
  type ClientUploadWebhookEvent,
  type CreateClientUploadInput,
  type SettleOutcome,
} from './client-upload.service.js';
export {
  CLIENT_UPLOAD_ID_PATTERN,
  ClientUploadStore,
  type ClientUploadStoreOptions,
  type ListOptions,
  newClientUploadId,
} from './client-upload.store.js';
export {
  CLIENT_UPLOAD_STATUSES,
  type ClientUploadError as ClientUploadErrorView,
  type ClientUploadRecord,
  type ClientUploadResult,
  type ClientUploadStatus,
  type ClientUploadView,
  type IssuedCredentials,
  isFinished,
  type OssCredentialsView,
  toClientUploadView,
} from './client-upload-record.js';
export { ClientUploadError } from './errors.js';
export { ClientUploadKeys } from './keys.js';
export {
  ClientUploadCounts,
  VOD_EVENT_RESULTS,
  VOD_EVENT_TYPES,
  type VodEventResultLabel,
} from './metrics-counts.js';
export {
  type ClientUploadPolicy,
  checkStatic,
  DEFAULT_CLIENT_UPLOAD_POLICY,
  narrowPolicy,
  policyFor,
  type TicketConstraints,
} from './policy.js';
export { ClientUploadReconciler, type PassReport, type ReconcilerOptions } from './reconciler.js';
export { redeemOnce, signTicket, type TicketClaims, verifyTicket } from './tickets.js';
export {
  type CallbackCheck,
  checkVodCallback,
  eventMediaId,
  VOD_UPLOAD_EVENTS,
  type VodEventType,
  vodCallbackSignature,
} from './vod-callback.js';
export { type ClientUploadVod, type VodIssue, VodMediaApi, type VodMediaState } from './vod-media.js';
