import { CLIENT_UPLOAD_ID_PATTERN } from '@mediaferry/client-uploads';
import type { z } from 'zod';
import {
  clientUploadListQuerySchema,
  clientUploadListSchema,
  clientUploadViewSchema,
  createClientUploadSchema,
  ticketRequestSchema,
  ticketResponseSchema,
} from './client-uploads.schemas.js';

type JsonSchema = Record<string, unknown>;

/** Named schemas of the client-upload routes: request bodies as input, answers as output. */
export const clientUploadSchemas = {
  input: { ClientUploadCreate: createClientUploadSchema, TicketRequest: ticketRequestSchema } as Record<
    string,
    z.ZodType
  >,
  output: {
    ClientUpload: clientUploadViewSchema,
    ClientUploadList: clientUploadListSchema,
    Ticket: ticketResponseSchema,
  } as Record<string, z.ZodType>,
  listQuery: clientUploadListQuerySchema,
};

/** The `paths` of CONTRACT §2, given helpers of openapi.ts. */
export function clientUploadPaths(h: {
  json: (s: JsonSchema) => unknown;
  ref: (name: string) => JsonSchema;
  errorResponse: (description: string) => unknown;
  commonErrors: Record<string, unknown>;
  listQuery: { properties: Record<string, JsonSchema> };
}): Record<string, unknown> {
  const { json, ref, errorResponse, commonErrors } = h;
  const idParam = [
    {
      name: 'id',
      in: 'path',
      required: true,
      description: "A client upload id; another service's upload answers 404 as if it did not exist",
      schema: { type: 'string', pattern: CLIENT_UPLOAD_ID_PATTERN.source },
    },
  ];
  const upload = (description: string) => ({ description, content: json(ref('ClientUpload')) });
  const notFound = errorResponse('NOT_FOUND: no such client upload for this service');
  const bodyErrors = {
    '413': errorResponse('PAYLOAD_TOO_LARGE'),
    '415': errorResponse('UNSUPPORTED_MEDIA_TYPE: the body must be application/json'),
  };
  const serverErrors = {
    '500': errorResponse('INTERNAL: an unexpected error (never a stack trace)'),
    '503': errorResponse('UNAVAILABLE: Redis is down, or VOD did not answer'),
  };
  const refusals = {
    '400': errorResponse('VALIDATION_FAILED, FILE_TOO_LARGE, or a VOD refusal of the media options'),
    '403': errorResponse('MEDIA_TYPE_NOT_ALLOWED, EXTENSION_NOT_ALLOWED (the service policy)'),
    '429': errorResponse(
      'RATE_LIMITED (requests per minute), QUOTA_EXCEEDED (per end user: open uploads, bytes per day)',
    ),
  };
  return {
    '/v1/client-uploads': {
      post: {
        summary: 'Authorize one client upload: a VOD media and per-file upload credentials',
        description:
          'Every policy check runs before any VOD call. The same idempotencyKey returns the same upload (200) with ' +
          'fresh credentials for the same media. uploadAddress/uploadAuth are base64 exactly as VOD issued them; ' +
          '`oss` holds them decoded for ali-oss / oss2.',
        requestBody: { required: true, content: json(ref('ClientUploadCreate')) },
        responses: {
          '201': upload('Issued'),
          '200': upload('The upload this idempotency key already names, with fresh credentials'),
          '409': errorResponse('CONFLICT: the idempotency key was used for a different upload'),
          ...bodyErrors,
          ...commonErrors,
          ...refusals,
        },
      },
      get: {
        summary: "List this service's client uploads, newest first",
        parameters: Object.entries(h.listQuery.properties).map(([name, s]) => ({
          name,
          in: 'query',
          schema: s,
        })),
        responses: {
          '200': { description: 'A page', content: json(ref('ClientUploadList')) },
          ...commonErrors,
        },
      },
    },
    '/v1/client-uploads/{id}': {
      get: {
        summary: 'Read a client upload (never with credentials)',
        parameters: idParam,
        responses: { '200': upload('The upload'), '404': notFound, ...commonErrors },
      },
      delete: {
        summary: 'Cancel: the media is deleted in VOD',
        parameters: idParam,
        responses: {
          '200': upload('Canceled'),
          '404': notFound,
          '409': errorResponse('CONFLICT: not issued any more'),
          ...commonErrors,
        },
      },
    },
    '/v1/client-uploads/{id}/refresh': {
      post: {
        summary:
          'Fresh credentials: RefreshUploadVideo (same media) for video/audio; a new media replacing the unused one for image/attached',
        parameters: idParam,
        responses: {
          '200': upload('Fresh credentials'),
          '404': notFound,
          '409': errorResponse('CONFLICT (not issued), DEADLINE_PASSED, ALREADY_UPLOADED'),
          '400': errorResponse('a VOD refusal'),
          ...bodyErrors,
          ...commonErrors,
        },
      },
    },
    '/v1/client-uploads/tickets': {
      post: {
        summary: 'A one-time ticket for a client that talks to mediaferry directly',
        requestBody: { required: false, content: json(ref('TicketRequest')) },
        responses: {
          '201': { description: 'The ticket', content: json(ref('Ticket')) },
          '403': errorResponse('TICKETS_DISABLED: no ticket secret configured'),
          '400': errorResponse('VALIDATION_FAILED'),
          ...bodyErrors,
          ...commonErrors,
        },
      },
    },
    '/v1/client-uploads/redeem': {
      post: {
        summary: 'Redeem a ticket (Authorization: Ticket <ticket>) for a client upload; works once',
        security: [{ ticket: [] }],
        requestBody: { required: true, content: json(ref('ClientUploadCreate')) },
        responses: {
          '201': upload('Issued'),
          '401': errorResponse('UNAUTHORIZED, TICKET_INVALID, TICKET_EXPIRED'),
          '409': errorResponse('TICKET_USED: already redeemed'),
          ...bodyErrors,
          ...serverErrors,
          ...refusals,
        },
      },
    },
    '/v1/vod/events': {
      post: {
        summary:
          "VOD's upload-complete callbacks (X-VOD-TIMESTAMP, X-VOD-SIGNATURE = md5(url|timestamp|key))",
        security: [],
        requestBody: { required: true, content: json({ type: 'object' }) },
        responses: {
          '200': {
            description:
              '{result: accepted | replay | unknown_media | ignored}; the media is looked up in VOD',
          },
          '400': errorResponse('INVALID_JSON'),
          '401': errorResponse('BAD_SIGNATURE, STALE_TIMESTAMP'),
          ...bodyErrors,
          ...serverErrors,
        },
      },
    },
  };
}
