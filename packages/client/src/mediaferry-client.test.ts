import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AbortError, type JobSpecInput, NetworkError, TimeoutError } from '@mediaferry/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError } from './api-error.js';
import { isBatchItemError, MediaferryClient } from './mediaferry-client.js';
import { type ContractServer, startContractServer } from './testing/contract-server.js';

const TOKEN = 'secret-token-a';
const spec = (title: string, extra: Partial<JobSpecInput> = {}): JobSpecInput => ({
  source: { type: 'file', path: `/srv/media/${title}.mp4` },
  media: { type: 'video', title },
  ...extra,
});

let server: ContractServer;
let client: MediaferryClient;

beforeEach(async () => {
  server = await startContractServer({ tokens: { [TOKEN]: 'svc-a', 'token-b': 'svc-b' } });
  client = new MediaferryClient({ baseUrl: server.url, token: TOKEN, retryBaseDelayMs: 1 });
});
afterEach(async () => {
  await server.close();
});

async function rawServer(
  handler: http.RequestListener,
): Promise<{ url: string; close: () => Promise<void> }> {
  const s = http.createServer(handler);
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
    close: async () => {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    },
  };
}

describe('MediaferryClient requests', () => {
  it('creates a job with the bearer token, and replays it for the same idempotency key', async () => {
    const first = await client.submitJob(spec('a'), { idempotencyKey: 'k-1' });
    expect(first.created).toBe(true);
    expect(first.job).toMatchObject({ service: 'svc-a', status: 'queued', media: { title: 'a' } });
    const again = await client.submitJob(spec('a'), { idempotencyKey: 'k-1' });
    expect(again).toEqual({ job: first.job, created: false });
    const post = server.requests.find((r) => r.method === 'POST')!;
    expect(post.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(post.headers['idempotency-key']).toBe('k-1');
    expect(await client.getJob(first.job.id)).toEqual(first.job);
  });

  it('turns error bodies into ApiError with status, code and details', async () => {
    const err = await client
      .createJob({ source: { type: 'file', path: 'relative.mp4' }, media: { type: 'video', title: 'x' } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', retryable: false });
    expect((err as ApiError).details).toMatchObject({ fields: [{ path: 'source.path' }] });
  });

  it('answers 401 for a bad token without echoing it, and 404 for another service’s job', async () => {
    const bad = new MediaferryClient({ baseUrl: server.url, token: 'wrong-token-zzz' });
    const err = (await bad.listJobs().catch((e: unknown) => e)) as ApiError;
    expect(err).toMatchObject({ name: 'ApiError', status: 401, code: 'UNAUTHORIZED' });
    expect(JSON.stringify({ m: err.message, d: err.details })).not.toContain('wrong-token-zzz');

    const job = await client.createJob(spec('mine'));
    const other = new MediaferryClient({ baseUrl: server.url, token: 'token-b' });
    await expect(other.getJob(job.id)).rejects.toMatchObject({ status: 404, code: 'NOT_FOUND' });
    await expect(other.cancelJob(job.id)).rejects.toMatchObject({ status: 404 });
  });

  it('lists one page and iterates over every page', async () => {
    const created = [];
    for (let i = 0; i < 5; i++) created.push(await client.createJob(spec(`j${i}`)));
    const page = await client.listJobs({ limit: 2 });
    expect(page.jobs).toHaveLength(2);
    expect(page.nextCursor).not.toBeNull();
    const all = [];
    for await (const job of client.listAllJobs({ limit: 2 })) all.push(job.id);
    expect(all.sort()).toEqual(created.map((j) => j.id).sort());
    expect(server.requests.filter((r) => r.url.startsWith('/v1/jobs?')).length).toBe(1 + 3);

    server.finish(created[0]!.id, 'failed', {
      error: { code: 'SOURCE_NOT_FOUND', message: 'gone', retryable: false },
    });
    const failed = await client.listJobs({ status: 'failed' });
    expect(failed.jobs.map((j) => j.id)).toEqual([created[0]!.id]);
  });

  it('submits a batch where each spec is accepted or refused on its own', async () => {
    const items = await client.createJobs([
      spec('ok'),
      { source: { type: 'file', path: '/x' } } as JobSpecInput,
    ]);
    expect(items).toHaveLength(2);
    expect(isBatchItemError(items[0]!)).toBe(false);
    expect(isBatchItemError(items[1]!)).toBe(true);
    expect(items[1]).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
  });

  it('cancels and retries, and reports CONFLICT for a retry that makes no sense', async () => {
    const job = await client.createJob(spec('c'));
    await expect(client.retryJob(job.id)).rejects.toMatchObject({ status: 409, code: 'CONFLICT' });
    expect(await client.cancelJob(job.id)).toMatchObject({ id: job.id, status: 'canceled' });
    expect(await client.retryJob(job.id)).toMatchObject({ id: job.id, status: 'queued' });
  });

  it('retries safe requests on 503 (honouring Retry-After) but never a keyless create', async () => {
    const job = await client.createJob(spec('r'));
    server.failNext('GET /v1/jobs/', 503, 2, { 'retry-after': '0' });
    expect((await client.getJob(job.id)).id).toBe(job.id);

    server.failNext('POST /v1/jobs', 503, 1);
    const before = server.requests.length;
    await expect(client.createJob(spec('no-key'))).rejects.toMatchObject({
      status: 503,
      code: 'UNAVAILABLE',
      retryable: true,
    });
    expect(server.requests.length - before).toBe(1);

    server.failNext('POST /v1/jobs', 503, 1);
    expect(await client.createJob(spec('keyed'), { idempotencyKey: 'k-retry' })).toMatchObject({
      status: 'queued',
    });
  });

  it('types network failures, timeouts, aborts and non-JSON error pages', async () => {
    const closed = await rawServer(() => {});
    await closed.close(); // nothing listens on its port any more
    const down = new MediaferryClient({ baseUrl: closed.url, token: TOKEN, retries: 0 });
    const netErr = await down.getJob('job_x').catch((e: unknown) => e);
    expect(netErr).toBeInstanceOf(NetworkError);
    expect((netErr as NetworkError).details).toMatchObject({ code: 'ECONNREFUSED' });

    const hanging = await rawServer(() => {});
    try {
      const slow = new MediaferryClient({ baseUrl: hanging.url, token: TOKEN, timeoutMs: 100, retries: 0 });
      await expect(slow.getJob('job_x')).rejects.toBeInstanceOf(TimeoutError);
      const controller = new AbortController();
      const pending = new MediaferryClient({ baseUrl: hanging.url, token: TOKEN }).getJob('job_x', {
        signal: controller.signal,
      });
      controller.abort();
      await expect(pending).rejects.toBeInstanceOf(AbortError);
    } finally {
      await hanging.close();
    }

    const proxy = await rawServer((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html>bad gateway</html>');
    });
    try {
      const viaProxy = new MediaferryClient({ baseUrl: proxy.url, token: TOKEN, retries: 0 });
      await expect(viaProxy.getJob('job_x')).rejects.toMatchObject({ status: 502, code: 'SERVER_ERROR' });
    } finally {
      await proxy.close();
    }
  });
});

describe('MediaferryClient events and waitForJob', () => {
  it('streams status and progress events until the job ends', async () => {
    const job = await client.createJob(spec('e'));
    const seen: string[] = [];
    const done = (async () => {
      for await (const event of client.events(job.id)) {
        seen.push(
          event.type === 'status' ? `status:${event.status}` : `progress:${event.progress.uploadedBytes}`,
        );
      }
    })();
    await server.waitForSubscriber(job.id);
    server.setProgress(job.id, { uploadedBytes: 10, totalBytes: 100, percent: 10 });
    server.setProgress(job.id, { uploadedBytes: 100, percent: 100 });
    server.finish(job.id, 'succeeded');
    await done;
    expect(seen).toEqual([
      'status:queued',
      'status:running',
      'progress:10',
      'progress:100',
      'status:succeeded',
    ]);
  });

  it('waits through the event stream and returns the final job', async () => {
    const job = await client.createJob(spec('w'));
    const progress: number[] = [];
    const statuses: string[] = [];
    const waiting = client.waitForJob(job.id, {
      onProgress: (p) => progress.push(p.uploadedBytes),
      onStatus: (s) => statuses.push(s),
    });
    await server.waitForSubscriber(job.id);
    server.setProgress(job.id, { uploadedBytes: 5, totalBytes: 10 });
    server.finish(job.id, 'failed', {
      error: { code: 'SOURCE_CHANGED', message: 'changed', retryable: false },
    });
    const final = await waiting;
    expect(final).toMatchObject({ status: 'failed', error: { code: 'SOURCE_CHANGED' } });
    expect(progress).toContain(5);
    expect(statuses).toEqual(['queued', 'running', 'failed']);
  });

  it('reconnects when the event stream drops mid-job', async () => {
    const job = await client.createJob(spec('d'));
    const waiting = client.waitForJob(job.id);
    await server.waitForSubscriber(job.id);
    server.setProgress(job.id, { uploadedBytes: 1 });
    server.dropSubscribers(job.id);
    await server.waitForSubscriber(job.id);
    server.finish(job.id, 'succeeded');
    expect((await waiting).status).toBe('succeeded');
    expect(server.requests.filter((r) => r.url.endsWith('/events')).length).toBe(2);
  });

  it('falls back to polling when the event stream is unavailable', async () => {
    await server.close();
    server = await startContractServer({ tokens: { [TOKEN]: 'svc-a' }, events: false });
    client = new MediaferryClient({ baseUrl: server.url, token: TOKEN, retryBaseDelayMs: 1 });
    const job = await client.createJob(spec('p'));
    const waiting = client.waitForJob(job.id, { pollIntervalMs: 20, maxStreamFailures: 1 });
    await server.waitForRequest(`GET /v1/jobs/${job.id}/events`);
    server.setProgress(job.id, { uploadedBytes: 1 });
    server.finish(job.id, 'succeeded');
    expect((await waiting).status).toBe('succeeded');
  });

  it('stops waiting with AbortError when the signal fires', async () => {
    const job = await client.createJob(spec('a'));
    const controller = new AbortController();
    const waiting = client.waitForJob(job.id, { signal: controller.signal });
    await server.waitForSubscriber(job.id);
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(AbortError);
  });
});
