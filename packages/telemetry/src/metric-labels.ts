/**
 * Bounded label values for the worker metrics (CONTRACT §5). Every label value that reaches
 * Prometheus passes through one of the sanitizers below, so a job id, URL or path can never create
 * a new time series: anything unknown collapses to `other` / `OTHER`.
 */

import { JOB_ERROR_CODES } from '@mediaferry/core';

export const SOURCE_TYPES = ['file', 'url', 'other'] as const;
export type SourceTypeLabel = (typeof SOURCE_TYPES)[number];

/** VOD media types, `none` for plain OSS targets without a media type. */
export const MEDIA_TYPES = ['video', 'audio', 'image', 'attached', 'none', 'other'] as const;
export type MediaTypeLabel = (typeof MEDIA_TYPES)[number];

/** Terminal job outcomes (CONTRACT §1 job statuses that end a job). */
export const JOB_STATUSES = ['succeeded', 'failed', 'canceled'] as const;
export type JobStatusLabel = (typeof JOB_STATUSES)[number];

/** `error_code` on a successful job. */
export const NO_ERROR_CODE = 'none';
/** Any code outside {@link ERROR_CODES}. */
export const OTHER_ERROR_CODE = 'OTHER';

/**
 * Every job `code` of `@mediaferry/core` (its typed union, so the labels cannot drift from it), the API's
 * `URI_TOO_LONG`, and the two sentinels.
 */
export const ERROR_CODES = [...JOB_ERROR_CODES, 'URI_TOO_LONG', NO_ERROR_CODE, OTHER_ERROR_CODE] as const;
export type ErrorCodeLabel = (typeof ERROR_CODES)[number];

/**
 * Why a part upload was retried: the `code` of the error that caused it (same vocabulary as
 * `error_code`), so dashboards can line retries up with failures.
 */
export type PartRetryReasonLabel = Exclude<ErrorCodeLabel, typeof NO_ERROR_CODE>;

const sourceTypes = new Set<string>(SOURCE_TYPES);
const mediaTypes = new Set<string>(MEDIA_TYPES);
const jobStatuses = new Set<string>(JOB_STATUSES);
const errorCodes = new Set<string>(ERROR_CODES);

export function sanitizeSourceType(value: unknown): SourceTypeLabel {
  return typeof value === 'string' && sourceTypes.has(value) ? (value as SourceTypeLabel) : 'other';
}

/** `undefined`/`null` (no media type, e.g. an OSS target) → `none`; unknown strings → `other`. */
export function sanitizeMediaType(value: unknown): MediaTypeLabel {
  if (value === undefined || value === null || value === '') return 'none';
  return typeof value === 'string' && mediaTypes.has(value) ? (value as MediaTypeLabel) : 'other';
}

/** Unknown statuses count as `failed`: a job that ended in a way we do not know did not succeed. */
export function sanitizeJobStatus(value: unknown): JobStatusLabel {
  return typeof value === 'string' && jobStatuses.has(value) ? (value as JobStatusLabel) : 'failed';
}

/**
 * Normalises an error code (`network_error`, `Network-Error` → `NETWORK_ERROR`); unknown codes, and
 * anything that does not look like a code at all (messages, URLs, ids), become `OTHER`.
 * Missing/empty → `none`.
 */
export function sanitizeErrorCode(value: unknown): ErrorCodeLabel {
  if (value === undefined || value === null || value === '') return NO_ERROR_CODE;
  if (typeof value !== 'string' || value.length > 64) return OTHER_ERROR_CODE;
  if (value === NO_ERROR_CODE) return NO_ERROR_CODE;
  const normalised = value
    .trim()
    .toUpperCase()
    .replace(/[-\s.]+/g, '_');
  return errorCodes.has(normalised) ? (normalised as ErrorCodeLabel) : OTHER_ERROR_CODE;
}

/**
 * The upload engine's own retry reasons (`RetryReason` of @mediaferry/uploader, which the worker
 * passes straight through) as the error codes dashboards and alert runbooks use.
 */
const ENGINE_RETRY_REASONS: Readonly<Record<string, PartRetryReasonLabel>> = {
  network: 'NETWORK_ERROR',
  '5xx': 'STORAGE_ERROR',
  throttled: 'THROTTLED',
  timeout: 'TIMEOUT',
  credentials: 'CREDENTIALS_EXPIRED',
  integrity: 'INTEGRITY_MISMATCH',
  source: 'SOURCE_UNAVAILABLE',
  other: OTHER_ERROR_CODE,
};

/**
 * Like {@link sanitizeErrorCode}, but a retry always has a reason: missing → `OTHER`. Also takes
 * the upload engine's reasons (`5xx` → `STORAGE_ERROR`, `network` → `NETWORK_ERROR`, …).
 */
export function sanitizeRetryReason(value: unknown): PartRetryReasonLabel {
  if (typeof value === 'string' && Object.hasOwn(ENGINE_RETRY_REASONS, value)) {
    return ENGINE_RETRY_REASONS[value]!;
  }
  const code = sanitizeErrorCode(value);
  return code === NO_ERROR_CODE ? OTHER_ERROR_CODE : code;
}
