import { jobSpecSchema } from '@mediaferry/core';
import { z } from 'zod';
import {
  batchResponseSchema,
  errorBodySchema,
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

const commonErrors = {
  '401': errorResponse('UNAUTHORIZED: missing or unknown bearer token'),
  '429': errorResponse('RATE_LIMITED: too many requests from this service'),
  '503': errorResponse('UNAVAILABLE: Redis is down'),
};
const idParam = [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }];

/** The OpenAPI 3.1 document, generated from the same zod schemas the routes validate with. */
export function buildOpenApiDocument(version: string): Record<string, unknown> {
  const schemas = {
    ...components({ JobSpec: jobSpecSchema, ListQuery: listQuerySchema }, 'input'),
    ...components(
      {
        Job: jobViewSchema,
        Error: errorBodySchema,
        JobList: jobListSchema,
        BatchResult: batchResponseSchema,
      },
      'output',
    ),
  };
  const { ListQuery, ...named } = schemas;
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
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: named,
    },
    security: [{ bearer: [] }],
    paths: {
      '/v1/jobs': {
        post: {
          summary: 'Create an upload job',
          parameters: [
            { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string' } },
          ],
          requestBody: { required: true, content: json(ref('JobSpec')) },
          responses: {
            '202': { description: 'Created', content: json(ref('Job')) },
            '200': { description: 'The job this idempotency key already names', content: json(ref('Job')) },
            '400': errorResponse('VALIDATION_FAILED, SOURCE_FORBIDDEN, SOURCE_NOT_FOUND, INVALID_JSON'),
            '409': errorResponse('CONFLICT: the idempotency key was used with a different spec'),
            '413': errorResponse('PAYLOAD_TOO_LARGE'),
            '415': errorResponse('UNSUPPORTED_MEDIA_TYPE'),
            ...commonErrors,
          },
        },
        get: {
          summary: "List this service's jobs, newest first",
          parameters: Object.entries(query.properties).map(([name, s]) => ({ name, in: 'query', schema: s })),
          responses: { '200': { description: 'A page', content: json(ref('JobList')) }, ...commonErrors },
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
            '404': errorResponse('NOT_FOUND'),
          },
        },
        delete: {
          summary: 'Cancel a job (aborts its multipart upload)',
          parameters: idParam,
          responses: {
            '200': { description: 'Canceled', content: json(ref('Job')) },
            '404': errorResponse('NOT_FOUND'),
            '409': errorResponse('CONFLICT: already finished'),
          },
        },
      },
      '/v1/jobs/{id}/retry': {
        post: {
          summary: 'Run a failed or canceled job again, resuming from its checkpoint',
          parameters: idParam,
          responses: {
            '202': { description: 'Queued again', content: json(ref('Job')) },
            '404': errorResponse('NOT_FOUND'),
            '409': errorResponse('CONFLICT: not failed or canceled'),
          },
        },
      },
      '/v1/jobs/{id}/events': {
        get: {
          summary:
            'Server-sent events: `status` (data: Job) and `progress` (data: progress) until the job ends',
          parameters: idParam,
          responses: { '200': { description: 'An event stream', content: { 'text/event-stream': {} } } },
        },
      },
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
