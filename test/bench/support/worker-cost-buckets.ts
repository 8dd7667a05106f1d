import type { Bucket } from './cpu-profile.ts';

/**
 * What a worker spends its CPU on per job, by the frames of apps/worker and the packages it drives.
 * Feature buckets name a step of the job; mechanism buckets catch continuations with no feature frame
 * on the stack (Redis replies, HTTP client callbacks, GC).
 */
export const WORKER_COST_BUCKETS: readonly Bucket[] = [
  {
    label: 'source checks (realpath roots + file, statfs, stat; on stat() and open())',
    match: /^(resolveAllowedFile|realRoots|assertRealFilesystem) /,
  },
  { label: 'file read (open, fstat, read, close)', match: / @mediaferry\/sources local-file/ },
  {
    label: 'VOD CreateUploadImage (openapi-core, signing)',
    match: / (@alicloud\/\S+|@darabonba\/\S+) |^\S+ @mediaferry\/aliyun vod-/,
  },
  {
    label: 'OSS calls (ali-oss, urllib, signing, date formatting)',
    match:
      / (ali-oss|urllib|dateformat|xml2js|sax|mime|copy-to|utility) |^\S+ @mediaferry\/aliyun (oss-|body-)/,
  },
  { label: 'CRC-64 of the part', match: / @mediaferry\/crc64 |^\S+ @mediaferry\/uploader part-crc/ },
  { label: 'checkpoint (Redis)', match: / @mediaferry\/uploader redis-checkpoint/ },
  { label: 'job record transitions (Redis Lua)', match: / @mediaferry\/queue job-store/ },
  { label: 'BullMQ (fetch, lock, complete)', match: / bullmq / },
  {
    label: 'logging (pino + redact)',
    match: / (pino|@pinojs\/redact|@mediaferry\/telemetry logger|sonic-boom) /,
  },
  { label: 'metrics (prom-client)', match: / prom-client / },
  { label: 'upload engine (plan, buffers, progress)', match: / @mediaferry\/uploader / },
  { label: 'worker glue (processor, progress reporter)', match: / @mediaferry\/worker / },
  {
    label: 'ioredis (socket writes, reply parsing)',
    match: / ioredis |^\S+ (redis-parser|denque) /,
    kind: 'mechanism',
  },
  {
    label: 'HTTP client (node:http, agent, url parse)',
    match: /^\S+ node:(_http|url|net)/,
    kind: 'mechanism',
  },
  { label: 'garbage collector', match: /^\(garbage collector\)/, kind: 'mechanism' },
];
