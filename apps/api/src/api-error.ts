import {
  type ApiErrorCode,
  isJobErrorCode,
  isSourceErrorCode,
  type JobErrorCode,
  MediaferryError,
  REDIS_UNAVAILABLE_MESSAGE,
} from '@mediaferry/core';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodError } from 'zod';

/** The codes an API error body carries: the API's own, or the job code of a refused check. */
export type ApiBodyCode = ApiErrorCode | JobErrorCode;

/** One offending input field: `path` in dot notation (`media.title`, `jobs.3.source.path`). */
export interface FieldIssue {
  path: string;
  message: string;
}

/** The CONTRACT §1 error body. */
export interface ErrorBody {
  error: { code: ApiBodyCode; message: string; details?: Record<string, unknown> };
}

/** An error that already knows its HTTP status and stable code. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly statusCode: number,
    readonly code: ApiBodyCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  toBody(): ErrorBody {
    return {
      error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) },
    };
  }
}

export const notFound = (what = 'job') => new ApiError(404, 'NOT_FOUND', `No such ${what}`);
export const unavailable = (message = 'Redis is unavailable; try again shortly') =>
  new ApiError(503, 'UNAVAILABLE', message);
export const conflict = (message: string, details?: Record<string, unknown>) =>
  new ApiError(409, 'CONFLICT', message, details);

export function zodIssues(error: ZodError, prefix: readonly PropertyKey[] = []): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: [...prefix, ...issue.path].map(String).join('.') || '(body)',
    message: issue.message,
  }));
}

export function validationFailed(fields: FieldIssue[], message = 'The request is not valid'): ApiError {
  return new ApiError(400, 'VALIDATION_FAILED', message, { fields });
}

/** Source refusals keep their stable code (SOURCE_FORBIDDEN, SOURCE_NOT_FOUND, …) and answer 400. */
export function fromMediaferryError(err: MediaferryError): ApiError {
  const { code } = err;
  if (code === 'NOT_FOUND') return notFound();
  if (code === 'VALIDATION_FAILED') return new ApiError(400, code, err.message);
  if (isSourceErrorCode(code) && !err.retryable) return new ApiError(400, code, err.message);
  if (err.retryable) return new ApiError(503, 'UNAVAILABLE', err.message);
  return new ApiError(400, isJobErrorCode(code) ? code : 'VALIDATION_FAILED', err.message);
}

/**
 * Errors of a Redis that is down or unreachable (ioredis and BullMQ phrase them in a few ways), or in
 * the middle of a failover (Redis Cluster electing a replica, Sentinel switching masters).
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err.name === 'MaxRetriesPerRequestError' || REDIS_UNAVAILABLE_MESSAGE.test(err.message);
}

/** Maps Fastify's own errors (body parsing, limits) and anything else to the contract's shape. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof MediaferryError) return fromMediaferryError(err);
  if (isRedisUnavailable(err)) return unavailable();
  const fe = err as Partial<FastifyError> & { statusCode?: number };
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, 'PAYLOAD_TOO_LARGE', 'The request body is larger than this route accepts');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError(400, 'INVALID_JSON', 'The body is not valid JSON');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiError(400, 'BAD_REQUEST', 'Content-Length does not match the body');
    case 'FST_ERR_BAD_URL':
      return new ApiError(400, 'BAD_REQUEST', 'The URL is not valid (bad percent-encoding?)');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new ApiError(414, 'URI_TOO_LONG', 'A path parameter is longer than 100 characters');
  }
  if (fe.statusCode === 429) return new ApiError(429, 'RATE_LIMITED', 'Too many requests; slow down');
  if (err instanceof SyntaxError) return new ApiError(400, 'INVALID_JSON', 'The body is not valid JSON');
  const status = fe.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Fastify's messages for client errors are safe and useful (bad URL encoding, bad header...).
    return new ApiError(status, status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST', fe.message ?? 'Bad request');
  }
  return new ApiError(500, 'INTERNAL', 'Internal error');
}

/**
 * A declared body up to this size that is over a route's limit is read and discarded after the 413
 * rather than the connection being closed under the client: a client still sending its body when the
 * socket closes gets EPIPE/ECONNRESET and never sees the 413. Larger bodies close the connection.
 */
export const MAX_DRAINED_BODY_BYTES = 64 * 1024 * 1024;

/** Fastify error handler: JSON always, never a stack; server errors logged with the cause. */
export function handleError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const apiError = toApiError(err);
  if (apiError.code === 'PAYLOAD_TOO_LARGE' && reply.getHeader('connection') === 'close') {
    // Fastify asks for `Connection: close` on body errors; without it Node drains the unread body.
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared <= MAX_DRAINED_BODY_BYTES) reply.removeHeader('connection');
  }
  if (apiError.statusCode >= 500) request.log.error({ err }, 'request failed');
  else request.log.info({ code: apiError.code, status: apiError.statusCode }, 'request refused');
  if (apiError.statusCode === 429 && !reply.hasHeader('retry-after')) reply.header('retry-after', '1');
  return reply.code(apiError.statusCode).type('application/json; charset=utf-8').send(apiError.toBody());
}
