import { CLIENT_UPLOAD_ID_PATTERN, CLIENT_UPLOAD_STATUSES } from '@mediaferry/client-uploads';
import { mediaSchema } from '@mediaferry/core';
import { z } from 'zod';

const fileName = z
  .string()
  .min(1)
  .max(255)
  .refine((n) => !/[\\/\0]/.test(n), 'cannot contain slashes or NUL');
const endUserId = z.string().min(1).max(128);

/** POST /v1/client-uploads (and /redeem). */
export const createClientUploadSchema = z.strictObject({
  media: mediaSchema,
  fileName,
  fileSize: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  endUserId: endUserId.optional(),
  idempotencyKey: z.string().min(1).max(255).optional(),
  callbackUrl: z
    .string()
    .url()
    .max(2048)
    .refine((u) => /^https?:\/\//i.test(u), 'only http and https URLs are allowed')
    .optional(),
});

export const clientUploadIdParamsSchema = z.strictObject({ id: z.string() });
export const isClientUploadId = (id: string) => CLIENT_UPLOAD_ID_PATTERN.test(id);

export const clientUploadListQuerySchema = z.strictObject({
  status: z.enum(CLIENT_UPLOAD_STATUSES).optional(),
  endUserId: endUserId.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().regex(CLIENT_UPLOAD_ID_PATTERN, 'not a client upload id').optional(),
});

/** POST /v1/client-uploads/tickets */
export const ticketRequestSchema = z.strictObject({
  endUserId: endUserId.optional(),
  constraints: z
    .strictObject({
      maxBytes: z.number().int().min(1).optional(),
      mediaTypes: z
        .array(z.enum(['video', 'audio', 'image', 'attached']))
        .min(1)
        .optional(),
      extensions: z
        .array(z.string().regex(/^[a-z0-9]{1,10}$/))
        .min(1)
        .optional(),
    })
    .optional(),
  ttlSeconds: z.number().int().min(10).max(3600).default(300),
});

const ossSchema = z.object({
  endpoint: z.string(),
  bucket: z.string(),
  objectKey: z.string(),
  region: z.string().describe('ali-oss style, e.g. oss-cn-shanghai'),
  accessKeyId: z.string(),
  accessKeySecret: z.string(),
  securityToken: z.string(),
  expiration: z.iso.datetime(),
});

/** The public ClientUpload, for documentation. */
export const clientUploadViewSchema = z.object({
  id: z.string().describe('cu_ followed by a time-sortable id'),
  service: z.string(),
  status: z.enum(CLIENT_UPLOAD_STATUSES),
  mediaId: z.string().nullable(),
  mediaType: z.enum(['video', 'audio', 'image', 'attached']),
  endUserId: z.string().nullable(),
  fileName: z.string(),
  fileSize: z.number().int(),
  media: mediaSchema,
  callbackUrl: z.string().nullable(),
  uploadAddress: z
    .string()
    .nullable()
    .describe('base64 as VOD issued it; only in create/refresh/redeem answers'),
  uploadAuth: z
    .string()
    .nullable()
    .describe('base64 as VOD issued it; only in create/refresh/redeem answers'),
  oss: ossSchema
    .nullable()
    .describe('decoded credentials for ali-oss / oss2; only in create/refresh/redeem answers'),
  credentialsExpireAt: z.iso.datetime().nullable(),
  refreshes: z.number().int(),
  deadline: z.iso.datetime(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime().nullable(),
  result: z
    .object({
      mediaId: z.string(),
      size: z.number().int().nullable(),
      fileUrl: z.string().nullable(),
      vodStatus: z.string(),
      sizeVerified: z.boolean(),
    })
    .nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});

export const clientUploadListSchema = z.object({
  clientUploads: z.array(clientUploadViewSchema),
  nextCursor: z.string().nullable(),
});
export const ticketResponseSchema = z.object({ ticket: z.string(), expiresAt: z.iso.datetime() });
