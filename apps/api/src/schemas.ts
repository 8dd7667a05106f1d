import { JOB_ID_PATTERN, JOB_STATUSES, jobSpecSchema, mediaSchema, targetSchema } from '@mediaferry/core';
import { z } from 'zod';

/** Largest batch (CONTRACT §1). */
export const MAX_BATCH_JOBS = 1000;
/** Largest page of GET /v1/jobs. */
export const MAX_PAGE_SIZE = 100;

export const jobIdSchema = z.string().regex(JOB_ID_PATTERN, 'not a job id');
export const jobIdParamsSchema = z.strictObject({ id: z.string() });

/** The `Idempotency-Key` header; same rule as the body's `idempotencyKey`. */
export const idempotencyKeySchema = jobSpecSchema.shape.idempotencyKey.unwrap();

export const listQuerySchema = z.strictObject({
  status: z.enum(JOB_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(20),
  cursor: jobIdSchema.optional(),
});

/** The batch body: the jobs are validated one by one, so here they are only counted. */
export const batchBodySchema = z.strictObject({
  jobs: z.array(z.unknown()).min(1).max(MAX_BATCH_JOBS),
});

export const errorBodySchema = z.object({
  error: z.object({
    code: z.string().describe('stable, e.g. VALIDATION_FAILED'),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

const progressSchema = z.object({
  uploadedBytes: z.number().int(),
  totalBytes: z.number().int().nullable().describe('null while unknown (URL without Content-Length)'),
  percent: z.number().nullable(),
  partsDone: z.number().int(),
  partsTotal: z.number().int().nullable(),
  bytesPerSecond: z.number(),
});

/** The public job view, for documentation (the type is `JobView` in @mediaferry/core). */
export const jobViewSchema = z.object({
  id: z.string().describe('job_ followed by a time-sortable id'),
  service: z.string(),
  status: z.enum(JOB_STATUSES),
  source: z.discriminatedUnion('type', [
    z.object({ type: z.literal('file'), path: z.string() }),
    z.object({ type: z.literal('url'), url: z.string().describe('request headers are never returned') }),
  ]),
  media: mediaSchema,
  target: targetSchema,
  callbackUrl: z.string().nullable(),
  idempotencyKey: z.string().nullable(),
  priority: z.number().int(),
  progress: progressSchema,
  attempts: z.number().int(),
  result: z
    .object({
      mediaId: z.string().nullable(),
      mediaType: z.enum(['video', 'audio', 'image', 'attached']),
      bucket: z.string(),
      objectKey: z.string(),
      size: z.number().int(),
      crc64: z.string(),
      url: z.string().nullable(),
    })
    .nullable(),
  error: z.object({ code: z.string(), message: z.string(), retryable: z.boolean() }).nullable(),
  createdAt: z.iso.datetime(),
  startedAt: z.iso.datetime().nullable(),
  finishedAt: z.iso.datetime().nullable(),
});

export const jobListSchema = z.object({ jobs: z.array(jobViewSchema), nextCursor: z.string().nullable() });
export const batchResponseSchema = z.object({ jobs: z.array(z.union([jobViewSchema, errorBodySchema])) });
