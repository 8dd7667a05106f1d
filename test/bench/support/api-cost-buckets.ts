import type { Bucket } from './cpu-profile.ts';

/**
 * What a POST /v1/jobs spends its CPU on, by the frames of apps/api and the packages it calls.
 * Feature buckets name a step of the request; mechanism buckets catch the continuations that run
 * with no feature frame on the stack (Redis replies, socket callbacks, GC).
 */
export const API_COST_BUCKETS: readonly Bucket[] = [
  {
    label: 'source check (realpath roots + file, statfs, stat)',
    match: /^(resolveAllowedFile|realRoots|assertRealFilesystem) /,
  },
  { label: 'idempotency lookup (GET + HGETALL)', match: /^precheck @mediaferry\/api / },
  { label: 'job record (SCRIPT LOAD + EVALSHA pipeline)', match: /^(createMany|create) @mediaferry\/queue / },
  { label: 'BullMQ addBulk', match: /^enqueueUploads |^\S+ bullmq / },
  { label: 'JSON schema (zod)', match: /^parseSpec |^\S+ zod / },
  { label: 'rate limit (@fastify/rate-limit, one Redis script)', match: / @fastify\/rate-limit / },
  { label: 'bearer auth', match: /^(authenticate|authHook) / },
  {
    label: 'request log (pino + redact, sync write)',
    match: /^requestCompleted | pino | @pinojs\/redact | @mediaferry\/telemetry /,
  },
  { label: 'job view of the reply', match: /^toJobView / },
  {
    label: 'per-request AbortSignal (timeout + any)',
    match: /^requestSignal |^\S+ node:internal\/abort_controller /,
  },
  {
    label: 'ioredis (socket writes, reply parsing)',
    match: / ioredis |^\S+ (redis-parser|denque|cluster-key-slot) /,
    kind: 'mechanism',
  },
  {
    label: 'Fastify + HTTP parsing/writing',
    match:
      / (fastify|find-my-way|@fastify\/\S+|avvio|secure-json-parse|fast-json-stringify|light-my-request) |^\S+ node:_http/,
    kind: 'mechanism',
  },
  { label: 'garbage collector', match: /^\(garbage collector\)/, kind: 'mechanism' },
];
