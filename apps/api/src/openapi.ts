import { JOB_ID_PATTERN, jobSpecSchema } from '@mediaferry/core';
import { z } from 'zod';
import { ADMIN_BASE_PATH } from './admin-board.js';
import { clientUploadPaths, clientUploadSchemas } from './client-uploads.openapi.js';
import {
  batchResponseSchema,
  errorBodySchema,
  idempotencyKeySchema,
  jobListSchema,
  jobViewSchema,
  listQuerySchema,
  MAX_BATCH_JOBS,
} from './schemas.js';

type JsonSchema = Record<string, unknown>;

/**
 * JSON Schema 2020-12 (what OpenAPI 3.1 uses) of named schemas, cross-referenced through
 * `#/components/schemas/<name>`. Request bodies are converted as input (defaults optional).
 */
function components(schemas: Record<string, z.ZodType>, io: 'input' | 'output'): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const out = z.toJSONSchema(registry, {
    io,
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, JsonSchema> };
  for (const schema of Object.values(out.schemas)) {
    delete schema.$schema;
    delete schema.$id;
  }
  return out.schemas;
}

const json = (s: JsonSchema) => ({ 'application/json': { schema: s } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errorResponse = (description: string) => ({ description, content: json(ref('Error')) });

/** Every bearer-authenticated job route can answer these. */
const commonErrors = {
  '401': errorResponse('UNAUTHORIZED: missing or unknown bearer token'),
  '429': {
    description: 'RATE_LIMITED: too many requests from this service',
    headers: { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'string' } } },
    content: json(ref('Error')),
  },
  '500': errorResponse('INTERNAL: an unexpected error (never a stack trace)'),
  '503': errorResponse('UNAVAILABLE: Redis is down'),
};
const idParam = [
  {
    name: 'id',
    in: 'path',
    required: true,
    description: "A job id; another service's job answers 404 as if it did not exist",
    schema: { type: 'string', pattern: JOB_ID_PATTERN.source },
  },
];
const notFound = errorResponse('NOT_FOUND: no such job for this service');
const jsonBodyErrors = {
  '413': errorResponse('PAYLOAD_TOO_LARGE'),
  '415': errorResponse('UNSUPPORTED_MEDIA_TYPE: the body must be application/json'),
};

/** The OpenAPI 3.1 document, generated from the same zod schemas the routes validate with. */
export function buildOpenApiDocument(version: string): Record<string, unknown> {
  const schemas = {
    ...components(
      {
        JobSpec: jobSpecSchema,
        ListQuery: listQuerySchema,
        CuListQuery: clientUploadSchemas.listQuery,
        ...clientUploadSchemas.input,
      },
      'input',
    ),
    ...components(
      {
        Job: jobViewSchema,
        Error: errorBodySchema,
        JobList: jobListSchema,
        BatchResult: batchResponseSchema,
        ...clientUploadSchemas.output,
      },
      'output',
    ),
  };
  const { ListQuery, CuListQuery, ...named } = schemas;
  const query = ListQuery as { properties: Record<string, JsonSchema> };
  return {
    openapi: '3.1.0',
    info: {
      title: 'mediaferry producer API',
      version,
      description:
        'Enqueues uploads into Alibaba Cloud ApsaraVideo VOD / OSS. Errors are `{"error": {code, message, details}}`.',
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        ticket: { type: 'apiKey', in: 'header', name: 'Authorization', description: '`Ticket <ticket>`' },
      },
      schemas: named,
    },
    security: [{ bearer: [] }],
    paths: {
      '/v1/jobs': {
        post: {
          summary: 'Create an upload job',
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              description: 'Same as `idempotencyKey` in the body (both given: they must be equal)',
              schema: (({ $schema: _drop, ...rest }) => rest)(z.toJSONSchema(idempotencyKeySchema)),
            },
          ],
          requestBody: { required: true, content: json(ref('JobSpec')) },
          responses: {
            '202': { description: 'Created', content: json(ref('Job')) },
            '200': { description: 'The job this idempotency key already names', content: json(ref('Job')) },
            '400': errorResponse('VALIDATION_FAILED, SOURCE_FORBIDDEN, SOURCE_NOT_FOUND, INVALID_JSON'),
            '409': errorResponse('CONFLICT: the idempotency key was used with a different spec'),
            ...jsonBodyErrors,
            ...commonErrors,
          },
        },
        get: {
          summary: "List this service's jobs, newest first",
          parameters: Object.entries(query.properties).map(([name, s]) => ({ name, in: 'query', schema: s })),
          responses: {
            '200': { description: 'A page', content: json(ref('JobList')) },
            '400': errorResponse('VALIDATION_FAILED: a bad or unknown query parameter'),
            ...commonErrors,
          },
        },
      },
      '/v1/jobs/batch': {
        post: {
          summary: `Create up to ${MAX_BATCH_JOBS} jobs, each accepted or refused on its own`,
          requestBody: {
            required: true,
            content: json({
              type: 'object',
              properties: { jobs: { type: 'array', maxItems: MAX_BATCH_JOBS, items: ref('JobSpec') } },
              required: ['jobs'],
            }),
          },
          responses: {
            '202': { description: 'All accepted', content: json(ref('BatchResult')) },
            '207': { description: 'Some refused', content: json(ref('BatchResult')) },
            '400': errorResponse('VALIDATION_FAILED: the batch itself is malformed'),
            ...jsonBodyErrors,
            ...commonErrors,
          },
        },
      },
      '/v1/jobs/{id}': {
        get: {
          summary: 'Read a job',
          parameters: idParam,
          responses: {
            '200': { description: 'The job', content: json(ref('Job')) },
            '404': notFound,
            ...commonErrors,
          },
        },
        delete: {
          summary: 'Cancel a job (aborts its multipart upload)',
          parameters: idParam,
          responses: {
            '200': { description: 'Canceled', content: json(ref('Job')) },
            '404': notFound,
            '409': errorResponse('CONFLICT: already finished'),
            ...commonErrors,
          },
        },
      },
      '/v1/jobs/{id}/retry': {
        post: {
          summary: 'Run a failed or canceled job again, resuming from its checkpoint',
          parameters: idParam,
          responses: {
            '202': { description: 'Queued again', content: json(ref('Job')) },
            '404': notFound,
            '409': errorResponse('CONFLICT: not failed or canceled, or its worker is still stopping it'),
            ...commonErrors,
          },
        },
      },
      '/v1/jobs/{id}/events': {
        get: {
          summary:
            'Server-sent events: `status` (data: Job) and `progress` (data: progress) until the job ends',
          description:
            '`event: status` (data: the Job) first and after every status change; `event: progress` (data: ' +
            'the progress object); `: heartbeat` comments while nothing happens. The stream ends after the ' +
            'status event of a finished job.',
          parameters: idParam,
          responses: {
            '200': {
              description: 'An event stream',
              content: { 'text/event-stream': { schema: { type: 'string' } } },
            },
            '404': notFound,
            ...commonErrors,
          },
        },
      },
      [ADMIN_BASE_PATH]: {
        get: {
          summary: 'bull-board, the queue dashboard (HTML; its JSON API lives under /admin/queues/api)',
          responses: {
            '200': { description: 'The dashboard', content: { 'text/html': { schema: { type: 'string' } } } },
            '401': commonErrors['401'],
          },
        },
      },
      ...clientUploadPaths({
        json,
        ref,
        errorResponse,
        commonErrors,
        listQuery: CuListQuery as { properties: Record<string, JsonSchema> },
      }),
      '/healthz': { get: { security: [], responses: { '200': { description: 'The process is up' } } } },
      '/readyz': {
        get: {
          security: [],
          responses: { '200': { description: 'Redis answers' }, '503': errorResponse('UNAVAILABLE') },
        },
      },
      '/openapi.json': { get: { security: [], responses: { '200': { description: 'This document' } } } },
    },
  };
}
