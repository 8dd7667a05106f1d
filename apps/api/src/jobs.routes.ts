import { isJobId, type JobSpec, jobSpecSchema } from '@mediaferry/core';
import { type JobStore, toJobView } from '@mediaferry/queue';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ApiError, type FieldIssue, notFound, validationFailed, zodIssues } from './api-error.js';
import type { JobsService } from './jobs.service.js';
import { batchBodySchema, idempotencyKeySchema, jobIdParamsSchema, listQuerySchema } from './schemas.js';

export interface JobRoutesOptions {
  jobs: JobsService;
  store: JobStore;
  /** @defaultValue 262144 (256 KiB) */
  bodyLimitBytes: number;
  /** @defaultValue 33554432 (32 MiB) */
  batchBodyLimitBytes: number;
  /** Longest time the source checks of one request may take. @defaultValue 15000 */
  checkTimeoutMs: number;
}

/**
 * Aborted when the client goes away or the checks take too long. One controller and one timer,
 * cleared when the response closes: `AbortSignal.timeout()` would keep every request's signal alive
 * for the whole timeout, and a busy API would promote them all to the old generation (long GC pauses).
 */
function requestSignal(reply: FastifyReply, timeoutMs: number): AbortSignal {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException('The source checks took too long', 'TimeoutError')),
    timeoutMs,
  );
  reply.raw.once('close', () => {
    clearTimeout(timer);
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}

type ParsedSpec = { ok: true; spec: JobSpec } | { ok: false; fields: FieldIssue[] };

/** Validates one spec; the `Idempotency-Key` header, when given, must agree with the body's key. */
function parseSpec(body: unknown, headerKey: unknown): ParsedSpec {
  const fields: FieldIssue[] = [];
  let key: string | undefined;
  if (headerKey !== undefined) {
    const parsed = idempotencyKeySchema.safeParse(headerKey);
    if (parsed.success) key = parsed.data;
    else fields.push({ path: 'Idempotency-Key', message: 'must be one header of 1 to 255 characters' });
  }
  const parsed = jobSpecSchema.safeParse(body);
  if (!parsed.success) fields.push(...zodIssues(parsed.error));
  if (fields.length > 0 || !parsed.success) return { ok: false, fields };
  const spec = parsed.data;
  if (key !== undefined && spec.idempotencyKey !== undefined && spec.idempotencyKey !== key) {
    return {
      ok: false,
      fields: [{ path: 'idempotencyKey', message: 'differs from the Idempotency-Key header' }],
    };
  }
  return { ok: true, spec: { ...spec, idempotencyKey: key ?? spec.idempotencyKey } };
}

function ownedId(request: FastifyRequest): string {
  const { id } = jobIdParamsSchema.parse(request.params);
  if (!isJobId(id)) throw notFound();
  return id;
}

export function registerJobRoutes(app: FastifyInstance, options: JobRoutesOptions): void {
  const { jobs, store } = options;

  /** 202 for a new job, 200 for the job an idempotency key already named, 409 for a key reused with another spec. */
  app.post('/v1/jobs', { bodyLimit: options.bodyLimitBytes }, async (request, reply) => {
    const parsed = parseSpec(request.body, request.headers['idempotency-key']);
    if (!parsed.ok) throw validationFailed(parsed.fields);
    const signal = requestSignal(reply, options.checkTimeoutMs);
    const [outcome] = await jobs.submit(request.service, [parsed.spec], signal);
    if (!outcome) throw new Error('no outcome');
    if (outcome.status === 'refused') throw outcome.error;
    return reply.code(outcome.status === 'created' ? 202 : 200).send(toJobView(outcome.record));
  });

  /** Each entry accepted (Job) or refused ({error}) on its own: 202 when all are accepted, else 207. */
  app.post('/v1/jobs/batch', { bodyLimit: options.batchBodyLimitBytes }, async (request, reply) => {
    if (request.headers['idempotency-key'] !== undefined) {
      throw validationFailed([
        { path: 'Idempotency-Key', message: 'not supported on batches; set idempotencyKey per job' },
      ]);
    }
    const body = batchBodySchema.safeParse(request.body);
    if (!body.success) throw validationFailed(zodIssues(body.error));
    const entries = body.data.jobs.map((raw) => parseSpec(raw, undefined));
    const valid = entries.flatMap((e) => (e.ok ? [e.spec] : []));
    const outcomes = await jobs.submit(request.service, valid, requestSignal(reply, options.checkTimeoutMs));
    let next = 0;
    let refused = 0;
    const results = entries.map((entry) => {
      let error: ApiError | undefined;
      if (!entry.ok) error = validationFailed(entry.fields, 'This job is not valid');
      else {
        const outcome = outcomes[next++];
        if (outcome && outcome.status !== 'refused') return toJobView(outcome.record);
        error = outcome?.error;
      }
      refused += 1;
      return error?.toBody() ?? { error: { code: 'INTERNAL', message: 'Internal error' } };
    });
    return reply.code(refused === 0 ? 202 : 207).send({ jobs: results });
  });

  app.get('/v1/jobs', async (request) => {
    const query = listQuerySchema.safeParse(request.query);
    if (!query.success) throw validationFailed(zodIssues(query.error));
    const page = await store.list(request.service, query.data);
    return { jobs: page.records.map(toJobView), nextCursor: page.nextCursor };
  });

  app.get('/v1/jobs/:id', async (request) =>
    toJobView(await jobs.getOwned(ownedId(request), request.service)),
  );

  app.delete('/v1/jobs/:id', async (request) =>
    toJobView(await jobs.cancel(ownedId(request), request.service)),
  );

  app.post('/v1/jobs/:id/retry', async (request, reply) => {
    const record = await jobs.retry(ownedId(request), request.service);
    return reply.code(202).send(toJobView(record));
  });
}
