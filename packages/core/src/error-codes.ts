/**
 * Every stable error `code` mediaferry produces, as typed unions (callers and dashboards rely on them;
 * CONTRACT §1). A new code is added here first, so a typo is a compile error rather than a silent
 * new label.
 */

/** Codes of a failed job (`job.error.code`) and of the `@mediaferry/core` error classes. */
export const JOB_ERROR_CODES = [
  'VALIDATION_FAILED',
  'CONFIG_INVALID',
  'SOURCE_NOT_FOUND',
  'SOURCE_FORBIDDEN',
  'SOURCE_CHANGED',
  'SOURCE_TOO_LARGE',
  'SOURCE_PROTOCOL',
  'SOURCE_UNAVAILABLE',
  'NETWORK_ERROR',
  'STORAGE_ERROR',
  'CREDENTIALS_EXPIRED',
  'ACCESS_DENIED',
  'THROTTLED',
  'VOD_ERROR',
  'NO_SUCH_UPLOAD',
  'INTEGRITY_MISMATCH',
  'OWNERSHIP_LOST',
  'TIMEOUT',
  'ABORTED',
  'CANCELED',
  'NOT_FOUND',
  'INTERNAL',
  'JOB_STALLED',
  'MEMORY_BUDGET_EXCEEDED',
] as const;
export type JobErrorCode = (typeof JOB_ERROR_CODES)[number];

/** The source refusals (bad or unreadable input): the API answers them with 400. */
export const SOURCE_ERROR_CODES = [
  'SOURCE_NOT_FOUND',
  'SOURCE_FORBIDDEN',
  'SOURCE_CHANGED',
  'SOURCE_TOO_LARGE',
  'SOURCE_PROTOCOL',
  'SOURCE_UNAVAILABLE',
] as const satisfies readonly JobErrorCode[];
export type SourceErrorCode = (typeof SOURCE_ERROR_CODES)[number];

/** Codes of the HTTP API's error bodies besides the job codes a source check can answer with. */
export const API_ERROR_CODES = [
  'VALIDATION_FAILED',
  'UNAUTHORIZED',
  'NOT_FOUND',
  'CONFLICT',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'INVALID_JSON',
  'BAD_REQUEST',
  'URI_TOO_LONG',
  'RATE_LIMITED',
  'UNAVAILABLE',
  'INTERNAL',
] as const;

/** Refusals of client uploads (policy, tickets, VOD events); the API answers them with 4xx. */
export const CLIENT_UPLOAD_ERROR_CODES = [
  'ALREADY_UPLOADED',
  'BAD_SIGNATURE',
  'DEADLINE_PASSED',
  'EXTENSION_NOT_ALLOWED',
  'FILE_TOO_LARGE',
  'MEDIA_TYPE_NOT_ALLOWED',
  'QUOTA_EXCEEDED',
  'SIZE_EXCEEDED',
  'SIZE_MISMATCH',
  'STALE_TIMESTAMP',
  'TICKETS_DISABLED',
  'TICKET_EXPIRED',
  'TICKET_INVALID',
  'TICKET_MISMATCH',
  'TICKET_USED',
] as const;
export type ClientUploadErrorCode = (typeof CLIENT_UPLOAD_ERROR_CODES)[number];

export type ApiErrorCode = (typeof API_ERROR_CODES)[number] | SourceErrorCode | ClientUploadErrorCode;

/**
 * Webhook deliveries; the typed client's `SERVER_ERROR`/`HTTP_ERROR` (an answer without our error
 * body) and `INVALID_RESPONSE` (a success it could not parse).
 */
export const DELIVERY_ERROR_CODES = [
  'WEBHOOK_REJECTED',
  'WEBHOOK_REFUSED',
  'SERVER_ERROR',
  'HTTP_ERROR',
  'INVALID_RESPONSE',
] as const;
export type DeliveryErrorCode = (typeof DELIVERY_ERROR_CODES)[number];

export type ErrorCode = JobErrorCode | ApiErrorCode | DeliveryErrorCode;

const KNOWN = new Set<string>([
  ...JOB_ERROR_CODES,
  ...API_ERROR_CODES,
  ...CLIENT_UPLOAD_ERROR_CODES,
  'WEBHOOK_REJECTED',
  'WEBHOOK_REFUSED',
]);

export function isErrorCode(value: unknown): value is ErrorCode {
  return (
    typeof value === 'string' && (KNOWN.has(value) || value === 'SERVER_ERROR' || value === 'HTTP_ERROR')
  );
}

export function isSourceErrorCode(code: string): code is SourceErrorCode {
  return (SOURCE_ERROR_CODES as readonly string[]).includes(code);
}

export function isJobErrorCode(code: string): code is JobErrorCode {
  return (JOB_ERROR_CODES as readonly string[]).includes(code);
}
