import { z } from 'zod';

/** CONTRACT §1 job specs. Unknown fields are refused (`strictObject`) so typos never pass silently. */

const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'not a valid header name')
  .max(256);
const headerValue = z
  .string()
  .max(8192)
  .refine((v) => !/[\r\n\0]/.test(v), 'header values cannot contain CR, LF or NUL');

export const fileSourceSchema = z.strictObject({
  type: z.literal('file'),
  path: z
    .string()
    .min(1)
    .max(4096)
    .refine((p) => p.startsWith('/'), 'must be an absolute path')
    .refine((p) => !p.includes('\0'), 'cannot contain NUL'),
});

export const urlSourceSchema = z.strictObject({
  type: z.literal('url'),
  url: z
    .string()
    .max(8192)
    .url()
    .refine((u) => /^https?:\/\//i.test(u), 'only http and https URLs are allowed'),
  /** Sent with every request to the source (e.g. an Authorization header); never stored in job views. */
  headers: z.record(headerName, headerValue).optional(),
});

export const sourceSchema = z.discriminatedUnion('type', [fileSourceSchema, urlSourceSchema]);

const title = z.string().min(1).max(128);
const description = z.string().max(1024);
const tags = z.array(z.string().min(1).max(32)).max(16);
const fileName = z
  .string()
  .min(1)
  .max(255)
  .refine((n) => !/[\\/\0]/.test(n), 'cannot contain slashes or NUL');
const userData = z.record(z.string(), z.unknown());

const commonMedia = {
  title: title.optional(),
  fileName: fileName.optional(),
  description: description.optional(),
  tags: tags.optional(),
  cateId: z.number().int().nonnegative().optional(),
  storageLocation: z.string().min(1).max(256).optional(),
  appId: z.string().min(1).max(64).optional(),
  userData: userData.optional(),
};

export const videoMediaSchema = z.strictObject({
  type: z.enum(['video', 'audio']),
  ...commonMedia,
  title,
  coverUrl: z.string().url().max(2048).optional(),
  templateGroupId: z.string().min(1).max(64).optional(),
  workflowId: z.string().min(1).max(64).optional(),
  /** VOD ReferenceId: unique per account; mediaferry derives one from the job id when absent. */
  referenceId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{6,64}$/, '6 to 64 letters, digits, - or _')
    .optional(),
});

export const imageMediaSchema = z.strictObject({
  type: z.literal('image'),
  ...commonMedia,
  /** VOD ImageType: `default`, `cover`, ... */
  imageType: z.enum(['default', 'cover']).optional(),
});

export const attachedMediaSchema = z.strictObject({
  type: z.literal('attached'),
  ...commonMedia,
  businessType: z.enum(['subtitle', 'watermark', 'material']),
  fileExtension: z
    .string()
    .regex(/^[A-Za-z0-9]{1,10}$/, 'an extension without the dot, e.g. "vtt"')
    .optional(),
});

export const mediaSchema = z.discriminatedUnion('type', [
  videoMediaSchema,
  imageMediaSchema,
  attachedMediaSchema,
]);

export const vodTargetSchema = z.strictObject({ type: z.literal('vod') });
export const ossTargetSchema = z.strictObject({
  type: z.literal('oss'),
  bucket: z.string().regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, 'not a valid OSS bucket name'),
  key: z
    .string()
    .min(1)
    .max(1023)
    .refine((k) => !k.startsWith('/') && !k.startsWith('\\'), 'cannot start with / or \\'),
});
export const targetSchema = z.discriminatedUnion('type', [vodTargetSchema, ossTargetSchema]);

export const jobSpecSchema = z.strictObject({
  source: sourceSchema,
  media: mediaSchema,
  target: targetSchema.default({ type: 'vod' }),
  callbackUrl: z
    .string()
    .url()
    .max(2048)
    .refine((u) => /^https?:\/\//i.test(u), 'only http and https URLs are allowed')
    .optional(),
  idempotencyKey: z.string().min(1).max(255).optional(),
  priority: z.number().int().min(0).max(1000).default(0),
});

export type FileSource = z.infer<typeof fileSourceSchema>;
export type UrlSource = z.infer<typeof urlSourceSchema>;
export type SourceSpec = z.infer<typeof sourceSchema>;
export type VideoMedia = z.infer<typeof videoMediaSchema>;
export type ImageMedia = z.infer<typeof imageMediaSchema>;
export type AttachedMedia = z.infer<typeof attachedMediaSchema>;
export type MediaSpec = z.infer<typeof mediaSchema>;
export type MediaType = MediaSpec['type'];
export type TargetSpec = z.infer<typeof targetSchema>;
export type JobSpec = z.infer<typeof jobSpecSchema>;
export type JobSpecInput = z.input<typeof jobSpecSchema>;

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'canceled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export interface JobProgress {
  uploadedBytes: number;
  totalBytes: number | null;
  percent: number | null;
  partsDone: number;
  partsTotal: number | null;
  bytesPerSecond: number;
}

export interface JobResult {
  mediaId: string | null;
  mediaType: MediaType;
  bucket: string;
  objectKey: string;
  size: number;
  crc64: string;
  url: string | null;
}

export interface JobErrorView {
  code: string;
  message: string;
  retryable: boolean;
}

/** The public view of a job (GET /v1/jobs/:id). Never carries secrets or source request headers. */
export interface JobView {
  id: string;
  service: string;
  status: JobStatus;
  source: { type: 'file'; path: string } | { type: 'url'; url: string };
  media: MediaSpec;
  target: TargetSpec;
  callbackUrl: string | null;
  idempotencyKey: string | null;
  priority: number;
  progress: JobProgress;
  attempts: number;
  result: JobResult | null;
  error: JobErrorView | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}
