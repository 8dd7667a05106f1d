import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type JobErrorView,
  type JobProgress,
  type JobResult,
  type JobStatus,
  type JobView,
  jobSpecSchema,
  newJobId,
} from '@mediaferry/core';

/**
 * A small, in-memory HTTP server that speaks CONTRACT §1 (auth, error bodies, idempotency, batch,
 * pagination, cancel/retry rules, SSE events) so API consumers (client, CLI) can be tested against a
 * real HTTP peer before or without the full stack. Jobs move only when the test says so
 * (`setProgress`, `finish`). Not for production.
 */
export interface ContractServerOptions {
  /** token → service. @defaultValue `{ 'test-token': 'svc-a' }` */
  tokens?: Record<string, string>;
  /** When false, `GET /v1/jobs/:id/events` answers 503 (to exercise polling fallbacks). @defaultValue true */
  events?: boolean;
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface ContractServer {
  readonly url: string;
  readonly requests: RecordedRequest[];
  jobs(): JobView[];
  /** Sets progress (and `running`) and pushes a `progress` event to subscribers. */
  setProgress(id: string, progress: Partial<JobProgress>): void;
  /** Moves a job to a status and pushes a `status` event (a terminal one ends the streams). */
  finish(id: string, status: JobStatus, extra?: { result?: JobResult; error?: JobErrorView }): void;
  /** Makes the next `count` requests whose `METHOD path` starts with `prefix` answer `status`. */
  failNext(prefix: string, status: number, count?: number, headers?: Record<string, string>): void;
  /** Resolves when a request matching `METHOD path` prefix arrives (already arrived counts). */
  waitForRequest(prefix: string): Promise<RecordedRequest>;
  /** Cuts every open event stream of the job (as a proxy or a restart would). */
  dropSubscribers(id: string): void;
  /** Resolves when someone subscribes to the job's event stream. */
  waitForSubscriber(id: string): Promise<void>;
  close(): Promise<void>;
}

const MAX_BODY = 1024 * 1024;
const TERMINAL = new Set<JobStatus>(['succeeded', 'failed', 'canceled']);

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export async function startContractServer(options: ContractServerOptions = {}): Promise<ContractServer> {
  const tokens = new Map(Object.entries(options.tokens ?? { 'test-token': 'svc-a' }));
  const eventsEnabled = options.events ?? true;
  const jobs = new Map<string, JobView>();
  const idempotency = new Map<string, string>(); // `${service}\0${key}` → job id
  const subscribers = new Map<string, Set<http.ServerResponse>>();
  const subscriberWaiters: Array<{ id: string; resolve: () => void }> = [];
  const requestWaiters: Array<{ prefix: string; resolve: (r: RecordedRequest) => void }> = [];
  const faults: Array<{ prefix: string; status: number; count: number; headers: Record<string, string> }> =
    [];
  const requests: RecordedRequest[] = [];

  const send = (
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const sendError = (res: http.ServerResponse, f: HttpFailure, headers: Record<string, string> = {}) =>
    send(
      res,
      f.status,
      { error: { code: f.code, message: f.message, ...(f.details ? { details: f.details } : {}) } },
      headers,
    );

  const push = (id: string, event: 'progress' | 'status', data: unknown) => {
    const subs = subscribers.get(id);
    if (!subs) return;
    for (const res of subs) {
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      if (event === 'status' && TERMINAL.has((data as JobView).status)) res.end();
    }
    if (event === 'status' && TERMINAL.has((data as JobView).status)) subscribers.delete(id);
  };

  const ownJob = (service: string, id: string): JobView => {
    const job = jobs.get(id);
    if (!job || job.service !== service) throw new HttpFailure(404, 'NOT_FOUND', `job ${id} not found`);
    return job;
  };

  const create = (
    service: string,
    raw: unknown,
    headerKey: string | undefined,
  ): { status: number; job: JobView } => {
    const parsed = jobSpecSchema.safeParse(raw);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
      throw new HttpFailure(400, 'VALIDATION_FAILED', 'the job spec is invalid', { fields });
    }
    const spec = parsed.data;
    const key = headerKey ?? spec.idempotencyKey;
    if (key !== undefined) {
      const existing = idempotency.get(`${service}\0${key}`);
      if (existing) return { status: 200, job: jobs.get(existing)! };
    }
    const source = spec.source.type === 'file' ? spec.source : { type: 'url' as const, url: spec.source.url };
    const job: JobView = {
      id: newJobId(),
      service,
      status: 'queued',
      source,
      media: spec.media,
      target: spec.target,
      callbackUrl: spec.callbackUrl ?? null,
      idempotencyKey: key ?? null,
      priority: spec.priority,
      progress: {
        uploadedBytes: 0,
        totalBytes: null,
        percent: null,
        partsDone: 0,
        partsTotal: null,
        bytesPerSecond: 0,
      },
      attempts: 0,
      result: null,
      error: null,
      createdAt: new Date().toISOString(),
      startedAt: null,
      finishedAt: null,
    };
    jobs.set(job.id, job);
    if (key !== undefined) idempotency.set(`${service}\0${key}`, job.id);
    return { status: 202, job };
  };

  const readBody = async (req: http.IncomingMessage): Promise<string> => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY) throw new HttpFailure(413, 'PAYLOAD_TOO_LARGE', 'the body exceeds 1 MiB');
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  };

  const parseJson = (text: string): unknown => {
    try {
      return JSON.parse(text);
    } catch {
      throw new HttpFailure(400, 'VALIDATION_FAILED', 'the body is not valid JSON', { fields: [] });
    }
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = `${req.method} ${url.pathname}`;
    const body = await readBody(req);
    const recorded: RecordedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body,
    };
    requests.push(recorded);
    for (const w of requestWaiters.filter((w) => route.startsWith(w.prefix))) {
      requestWaiters.splice(requestWaiters.indexOf(w), 1);
      w.resolve(recorded);
    }
    const fault = faults.find((f) => f.count > 0 && route.startsWith(f.prefix));
    if (fault) {
      fault.count--;
      const code = fault.status === 503 ? 'UNAVAILABLE' : fault.status === 429 ? 'RATE_LIMITED' : 'INTERNAL';
      return sendError(res, new HttpFailure(fault.status, code, 'injected failure'), fault.headers);
    }
    if (route === 'GET /healthz') return send(res, 200, { status: 'ok' });

    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    const service = auth ? tokens.get(auth[1]!) : undefined;
    if (!service) throw new HttpFailure(401, 'UNAUTHORIZED', 'a valid bearer token is required');

    const headerKey =
      typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : undefined;
    if (route === 'POST /v1/jobs') {
      const { status, job } = create(service, parseJson(body), headerKey);
      return send(res, status, job);
    }
    if (route === 'POST /v1/jobs/batch') {
      const specs = (parseJson(body) as { jobs?: unknown }).jobs;
      if (!Array.isArray(specs) || specs.length === 0 || specs.length > 1000) {
        throw new HttpFailure(400, 'VALIDATION_FAILED', 'jobs must be an array of 1 to 1000 specs', {
          fields: [{ path: 'jobs', message: 'expected 1 to 1000 items' }],
        });
      }
      const out = specs.map((spec) => {
        try {
          return create(service, spec, undefined).job;
        } catch (err) {
          if (!(err instanceof HttpFailure)) throw err;
          return {
            error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) },
          };
        }
      });
      return send(res, out.some((o) => 'error' in o) ? 207 : 202, { jobs: out });
    }
    if (route === 'GET /v1/jobs') {
      const status = url.searchParams.get('status');
      const limit = Math.min(Number(url.searchParams.get('limit') ?? 50) || 50, 1000);
      const cursor = url.searchParams.get('cursor');
      const mine = [...jobs.values()]
        .filter((j) => j.service === service && (!status || j.status === status))
        .sort((a, b) => (a.id < b.id ? 1 : -1)) // newest first; ids sort by creation time
        .filter((j) => !cursor || j.id < cursor);
      const page = mine.slice(0, limit);
      const nextCursor = mine.length > limit ? page[page.length - 1]!.id : null;
      return send(res, 200, { jobs: page, nextCursor });
    }
    const m = /^\/v1\/jobs\/([^/]+)(\/retry|\/events)?$/.exec(url.pathname);
    if (!m) throw new HttpFailure(404, 'NOT_FOUND', `no route ${route}`);
    const job = ownJob(service, decodeURIComponent(m[1]!));
    const sub = m[2] ?? '';
    if (req.method === 'GET' && sub === '') return send(res, 200, job);
    if (req.method === 'DELETE' && sub === '') {
      if (job.status === 'succeeded') throw new HttpFailure(409, 'CONFLICT', 'the job has already succeeded');
      if (job.status !== 'canceled')
        api.finish(job.id, 'canceled', {
          error: { code: 'CANCELED', message: 'canceled', retryable: false },
        });
      return send(res, 200, job);
    }
    if (req.method === 'POST' && sub === '/retry') {
      if (job.status !== 'failed' && job.status !== 'canceled') {
        throw new HttpFailure(409, 'CONFLICT', `a ${job.status} job cannot be retried`);
      }
      Object.assign(job, { status: 'queued', error: null, finishedAt: null });
      push(job.id, 'status', job);
      return send(res, 202, job);
    }
    if (req.method === 'GET' && sub === '/events') {
      if (!eventsEnabled) throw new HttpFailure(503, 'UNAVAILABLE', 'events are disabled on this server');
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(`event: status\ndata: ${JSON.stringify(job)}\n\n`);
      if (TERMINAL.has(job.status)) return res.end();
      const subs = subscribers.get(job.id) ?? new Set<http.ServerResponse>();
      subscribers.set(job.id, subs);
      subs.add(res);
      res.on('close', () => subs.delete(res));
      for (const w of subscriberWaiters.filter((w) => w.id === job.id)) {
        subscriberWaiters.splice(subscriberWaiters.indexOf(w), 1);
        w.resolve();
      }
      return;
    }
    throw new HttpFailure(404, 'NOT_FOUND', `no route ${route}`);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const failure = err instanceof HttpFailure ? err : new HttpFailure(500, 'INTERNAL', String(err));
      if (!res.headersSent) sendError(res, failure);
      else res.destroy();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  const api: ContractServer = {
    url: `http://127.0.0.1:${port}`,
    requests,
    jobs: () => [...jobs.values()],
    setProgress(id, progress) {
      const job = jobs.get(id)!;
      if (job.status === 'queued') {
        Object.assign(job, {
          status: 'running',
          startedAt: new Date().toISOString(),
          attempts: job.attempts + 1,
        });
        push(id, 'status', job);
      }
      job.progress = { ...job.progress, ...progress };
      push(id, 'progress', job.progress); // as the API sends it: the progress object itself
    },
    finish(id, status, extra = {}) {
      const job = jobs.get(id)!;
      Object.assign(job, {
        status,
        result: extra.result ?? job.result,
        error: extra.error ?? null,
        finishedAt: TERMINAL.has(status) ? new Date().toISOString() : null,
      });
      push(id, 'status', job);
    },
    failNext(prefix, status, count = 1, headers = {}) {
      faults.push({ prefix, status, count, headers });
    },
    waitForRequest(prefix) {
      const seen = requests.find((r) =>
        `${r.method} ${new URL(r.url, 'http://x').pathname}`.startsWith(prefix),
      );
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => requestWaiters.push({ prefix, resolve }));
    },
    dropSubscribers(id) {
      const subs = subscribers.get(id);
      subscribers.delete(id);
      for (const res of subs ?? []) res.destroy();
    },
    waitForSubscriber(id) {
      if (subscribers.get(id)?.size) return Promise.resolve();
      return new Promise((resolve) => subscriberWaiters.push({ id, resolve }));
    },
    async close() {
      for (const subs of subscribers.values()) for (const res of subs) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return api;
}
