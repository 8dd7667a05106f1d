// Re-exported so callers need only this package to catch and type everything the client throws.
export {
  AbortError,
  type JobProgress,
  type JobSpecInput,
  type JobStatus,
  type JobView,
  NetworkError,
  TimeoutError,
} from '@mediaferry/core';
export { ApiError, type ApiErrorBody, isApiErrorBody } from './api-error.js';
export { CLIENT_DEFAULTS, type MediaferryClientOptions } from './client-options.js';
export {
  type ClientUpload,
  type ClientUploadOss,
  type ClientUploadStatus,
  ClientUploadsApi,
  type CreateClientUploadInput,
  type ListClientUploadsQuery,
  type TicketInput,
} from './client-uploads.js';
export {
  isTerminalStatus,
  type JobEvent,
  type JobProgressEvent,
  type JobStatusEvent,
  parseJobEvent,
  TERMINAL_STATUSES,
} from './job-events.js';
export {
  type BatchItem,
  type BatchItemError,
  type CreateJobOptions,
  type CreateJobResult,
  type EventsOptions,
  isBatchItemError,
  type JobPage,
  type ListJobsQuery,
  MediaferryClient,
  type WaitForJobOptions,
} from './mediaferry-client.js';
