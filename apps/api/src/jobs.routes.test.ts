import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { closeRedis, createRedis } from '@mediaferry/queue';
import { Worker } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { auth, fileJob, TOKENS, useApi, view } from './test-support/api-fixture.js';

const api = useApi();

describe('POST /v1/jobs', () => {
  it('creates a queued job (202) with a BullMQ job under the same id', async () => {
    const res = await api.createJob(fileJob(api, { priority: 3 }));
    expect(res.statusCode).toBe(202);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    const job = view(res);
    expect(job).toMatchObject({
      service: 'svc-a',
      status: 'queued',
      source: { type: 'file', path: api.filePath },
      target: { type: 'vod' },
      priority: 3,
      attempts: 0,
      result: null,
      error: null,
      startedAt: null,
      progress: { uploadedBytes: 0, totalBytes: null, percent: null },
    });
    expect(job.id).toMatch(/^job_/);
    expect(new Date(job.createdAt).toISOString()).toBe(job.createdAt);
    const bull = await api.queue.getJob(job.id);
    expect(bull?.data).toEqual({ jobId: job.id, service: 'svc-a' });
    expect(res.headers['x-request-id']).toBeTruthy();
  });

  it('names every offending field in VALIDATION_FAILED', async () => {
    const res = await api.createJob({
      source: { type: 'file', path: 'relative.mp4' },
      media: { type: 'video', title: '' },
      target: { type: 'oss', bucket: 'Bad_Bucket', key: 'k' },
      unknownField: 1,
    });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.error.code).toBe('VALIDATION_FAILED');
    const paths = body.error.details.fields.map((f: { path: string }) => f.path);
    expect(paths).toEqual(expect.arrayContaining(['source.path', 'media.title', 'target.bucket', '(body)']));
    expect(JSON.stringify(body)).toContain('unknownField');
  });

  it('refuses sources the API can already tell are bad, with stable codes', async () => {
    const outside = await api.createJob(fileJob(api, { source: { type: 'file', path: '/etc/passwd' } }));
    expect(outside.statusCode).toBe(400);
    expect(outside.json().error.code).toBe('SOURCE_FORBIDDEN');
    const missing = await api.createJob(
      fileJob(api, { source: { type: 'file', path: path.join(api.media.path, 'nope.mp4') } }),
    );
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.code).toBe('SOURCE_NOT_FOUND');
    const loopback = await api.createJob(
      fileJob(api, { source: { type: 'url', url: 'http://127.0.0.1:9/a.mp4' } }),
    );
    expect(loopback.statusCode).toBe(400);
    expect(loopback.json().error.code).toBe('SOURCE_FORBIDDEN');
    const privateHost = await api.createJob(
      fileJob(api, { source: { type: 'url', url: 'https://internal.test/a.mp4' } }),
    );
    expect(privateHost.json().error.code).toBe('SOURCE_FORBIDDEN');
    expect(await api.queue.getJobCountByTypes('wait', 'prioritized', 'delayed')).toBe(1); // only the first test's job
  });

  it('refuses callbackUrl for a service without a webhook secret, and private callback hosts', async () => {
    const b = await api.createJob(fileJob(api, { callbackUrl: 'https://hooks.example.com/x' }), 'b');
    expect(b.statusCode).toBe(400);
    expect(b.json().error.details.fields[0].path).toBe('callbackUrl');
    const internal = await api.createJob(fileJob(api, { callbackUrl: 'https://internal.test/hook' }));
    expect(internal.statusCode).toBe(400);
    const a = await api.createJob(fileJob(api, { callbackUrl: 'https://hooks.example.com/x' }));
    expect(a.statusCode).toBe(202);
    expect(view(a).callbackUrl).toBe('https://hooks.example.com/x');
  });

  it('never returns URL source headers or tokens', async () => {
    const res = await api.createJob(
      fileJob(api, {
        source: {
          type: 'url',
          url: 'https://media.example.com/v.mp4',
          headers: { Authorization: 'Bearer origin-secret' },
        },
      }),
    );
    expect(res.statusCode).toBe(202);
    const id = view(res).id;
    const bodies = [
      res.body,
      (await api.request({ method: 'GET', url: `/v1/jobs/${id}`, headers: auth() })).body,
      (await api.request({ method: 'GET', url: '/v1/jobs', headers: auth() })).body,
      (await api.request({ method: 'DELETE', url: `/v1/jobs/${id}`, headers: auth() })).body,
    ];
    for (const body of bodies) {
      expect(body).not.toContain('origin-secret');
      expect(body).not.toContain(TOKENS.a);
    }
    expect(view(res).source).toEqual({ type: 'url', url: 'https://media.example.com/v.mp4' });
    expect(api.logs.join('')).not.toContain(TOKENS.a);
    expect(api.logs.join('')).not.toContain('origin-secret');
    // Not in the record (which the API reads): in the job's secret key, for the worker.
    const record = await api.store.get(id);
    expect(JSON.stringify(record)).not.toContain('origin-secret');
    expect(await api.store.sourceForRun(record as NonNullable<typeof record>)).toMatchObject({
      headers: { Authorization: 'Bearer origin-secret' },
    });
  });
});

describe('idempotency', () => {
  it('answers a repeat with the same job (200), by body key or header, and 409 for another spec', async () => {
    const first = await api.createJob(fileJob(api, { idempotencyKey: 'seq-1' }));
    expect(first.statusCode).toBe(202);
    const again = await api.createJob(fileJob(api, { idempotencyKey: 'seq-1' }));
    expect(again.statusCode).toBe(200);
    expect(view(again).id).toBe(view(first).id);
    const byHeader = await api.createJob(fileJob(api), 'a', { 'idempotency-key': 'seq-1' });
    expect(byHeader.statusCode).toBe(200);
    expect(view(byHeader).id).toBe(view(first).id);
    const otherService = await api.createJob(fileJob(api, { idempotencyKey: 'seq-1' }), 'b');
    expect(otherService.statusCode).toBe(202);
    const different = await api.createJob(
      fileJob(api, { idempotencyKey: 'seq-1', media: { type: 'audio', title: 'X' } }),
    );
    expect(different.statusCode).toBe(409);
    expect(different.json().error).toMatchObject({ code: 'CONFLICT', details: { jobId: view(first).id } });
    const mismatch = await api.createJob(fileJob(api, { idempotencyKey: 'x' }), 'a', {
      'idempotency-key': 'y',
    });
    expect(mismatch.statusCode).toBe(400);
  });

  it('answers a repeat whose file is gone by now with the job its key names (409 for another spec)', async () => {
    const file = path.join(api.media.path, 'soon-gone.mp4');
    await writeFile(file, 'x');
    const body = { source: { type: 'file', path: file }, media: { type: 'video', title: 'G' } };
    const first = await api.createJob({ ...body, idempotencyKey: 'gone-1' });
    expect(first.statusCode).toBe(202);
    await rm(file);
    const again = await api.createJob({ ...body, idempotencyKey: 'gone-1' });
    expect(again.statusCode).toBe(200);
    expect(view(again).id).toBe(view(first).id);
    const other = await api.createJob({
      ...body,
      media: { type: 'video', title: 'H' },
      idempotencyKey: 'gone-1',
    });
    expect(other.statusCode).toBe(409);
    const unknownKey = await api.createJob({ ...body, idempotencyKey: 'gone-2' });
    expect(unknownKey.statusCode).toBe(400);
    expect(unknownKey.json().error.code).toBe('SOURCE_NOT_FOUND');
  });

  it('turns 20 concurrent requests into one job and one BullMQ job', async () => {
    const before = await api.queue.getJobCountByTypes('wait', 'prioritized', 'delayed');
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => api.createJob(fileJob(api), 'a', { 'idempotency-key': 'burst-1' })),
    );
    const ids = new Set(responses.map((r) => view(r).id));
    expect(ids.size).toBe(1);
    expect(responses.filter((r) => r.statusCode === 202)).toHaveLength(1);
    expect(responses.filter((r) => r.statusCode === 200)).toHaveLength(19);
    expect(await api.queue.getJobCountByTypes('wait', 'prioritized', 'delayed')).toBe(before + 1);
  });
});

describe('reading, listing, cancel, retry', () => {
  it('isolates services: another service gets 404 and an empty list', async () => {
    const job = view(await api.createJob(fileJob(api)));
    const asB = await api.request({ method: 'GET', url: `/v1/jobs/${job.id}`, headers: auth('b') });
    expect(asB.statusCode).toBe(404);
    expect(asB.json().error.code).toBe('NOT_FOUND');
    expect(
      (await api.request({ method: 'DELETE', url: `/v1/jobs/${job.id}`, headers: auth('b') })).statusCode,
    ).toBe(404);
    expect(
      (await api.request({ method: 'POST', url: `/v1/jobs/${job.id}/retry`, headers: auth('b') })).statusCode,
    ).toBe(404);
    const listB = (
      await api.request({ method: 'GET', url: '/v1/jobs?limit=100', headers: auth('b') })
    ).json();
    expect(listB.jobs.map((j: { id: string }) => j.id)).not.toContain(job.id);
    const asA = await api.request({ method: 'GET', url: `/v1/jobs/${job.id}`, headers: auth('a') });
    expect(view(asA).id).toBe(job.id);
    expect(
      (await api.request({ method: 'GET', url: '/v1/jobs/not-an-id', headers: auth() })).statusCode,
    ).toBe(404);
  });

  it('answers 401 without a valid bearer token', async () => {
    for (const headers of [
      {},
      { authorization: 'Bearer nope' },
      { authorization: TOKENS.a },
      { authorization: 'Basic x' },
    ]) {
      const res = await api.request({ method: 'GET', url: '/v1/jobs', headers });
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('UNAUTHORIZED');
    }
  });

  it('pages the list with a cursor and filters by status', async () => {
    const created = [];
    for (let i = 0; i < 7; i++) created.push(view(await api.createJob(fileJob(api), 'b')));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/v1/jobs?limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await api.request({ method: 'GET', url, headers: auth('b') })).json();
      expect(page.jobs.length).toBeLessThanOrEqual(3);
      seen.push(...page.jobs.map((j: { id: string }) => j.id));
      cursor = page.nextCursor;
    } while (cursor);
    const allB = seen;
    expect(allB.slice(0, 7)).toEqual(created.map((j) => j.id).reverse());
    await api.request({ method: 'DELETE', url: `/v1/jobs/${created[2]?.id}`, headers: auth('b') });
    const canceled = (
      await api.request({ method: 'GET', url: '/v1/jobs?status=canceled', headers: auth('b') })
    ).json();
    expect(canceled.jobs.map((j: { id: string }) => j.id)).toEqual([created[2]?.id]);
    const bad = await api.request({
      method: 'GET',
      url: '/v1/jobs?limit=101&status=done',
      headers: auth('b'),
    });
    expect(bad.statusCode).toBe(400);
    expect(
      bad
        .json()
        .error.details.fields.map((f: { path: string }) => f.path)
        .sort(),
    ).toEqual(['limit', 'status']);
  });

  it('cancels a waiting job at once (removed from the queue), then 409 on a second cancel', async () => {
    const job = view(await api.createJob(fileJob(api)));
    expect(await api.queue.getJob(job.id)).toBeTruthy();
    const res = await api.request({ method: 'DELETE', url: `/v1/jobs/${job.id}`, headers: auth() });
    expect(res.statusCode).toBe(200);
    expect(view(res)).toMatchObject({ status: 'canceled', finishedAt: expect.any(String) });
    expect(await api.queue.getJob(job.id)).toBeUndefined();
    const again = await api.request({ method: 'DELETE', url: `/v1/jobs/${job.id}`, headers: auth() });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('CONFLICT');
  });

  it('sends job.canceled for a waiting job it removed, with the original callback URL', async () => {
    const job = view(await api.createJob(fileJob(api, { callbackUrl: 'https://hooks.example.com/c?sig=1' })));
    const res = await api.request({ method: 'DELETE', url: `/v1/jobs/${job.id}`, headers: auth() });
    expect(res.statusCode).toBe(200);
    const deliveries = await api.webhooks.queue.getJobs(['wait', 'delayed', 'prioritized']);
    const mine = deliveries.filter((d) => d.data.jobId === job.id);
    expect(mine).toHaveLength(1);
    expect(mine[0]?.data).toMatchObject({
      event: 'job.canceled',
      service: 'svc-a',
      callbackUrl: 'https://hooks.example.com/c?sig=1',
    });
    expect(JSON.parse(mine[0]?.data.body ?? '{}').job).toMatchObject({ id: job.id, status: 'canceled' });
  });

  it('leaves a job that already ran (delayed for a retry) to a worker, promoted to run now', async () => {
    const job = view(await api.createJob(fileJob(api, { callbackUrl: 'https://hooks.example.com/d' })));
    // Play a worker's first attempt: take the job, then put it back for a retry later.
    const connection = createRedis(api.redisServer.url, { role: 'worker' });
    const shard = api.queue.queueOf(job.id);
    const worker = new Worker(shard.name, null, { connection, prefix: shard.opts.prefix, autorun: false });
    try {
      const token = 'test-token';
      const others = [];
      let taken = await worker.getNextJob(token);
      while (taken && taken.id !== job.id) {
        others.push(taken);
        taken = await worker.getNextJob(token);
      }
      for (const other of others) await other.moveToWait(token);
      expect(taken?.id).toBe(job.id);
      await taken?.moveToDelayed(Date.now() + 3_600_000, token);
      expect(await (await api.queue.getJob(job.id))?.getState()).toBe('delayed');

      const res = await api.request({ method: 'DELETE', url: `/v1/jobs/${job.id}`, headers: auth() });
      expect(view(res).status).toBe('canceled');
      const left = await api.queue.getJob(job.id);
      expect(await left?.getState()).toBe('waiting');
      // The worker that cleans up sends the webhook, not the API.
      const deliveries = await api.webhooks.queue.getJobs(['wait', 'delayed', 'prioritized']);
      expect(deliveries.filter((d) => d.data.jobId === job.id)).toHaveLength(0);
    } finally {
      await worker.close();
      await closeRedis(connection);
    }
  });

  it('retries a canceled or failed job under the same id, and refuses to retry a queued one', async () => {
    const job = view(await api.createJob(fileJob(api)));
    const queued = await api.request({ method: 'POST', url: `/v1/jobs/${job.id}/retry`, headers: auth() });
    expect(queued.statusCode).toBe(409);
    await api.request({ method: 'DELETE', url: `/v1/jobs/${job.id}`, headers: auth() });
    const retried = await api.request({ method: 'POST', url: `/v1/jobs/${job.id}/retry`, headers: auth() });
    expect(retried.statusCode).toBe(202);
    expect(view(retried)).toMatchObject({ id: job.id, status: 'queued', finishedAt: null, error: null });
    expect((await api.queue.getJob(job.id))?.data.jobId).toBe(job.id);

    // A job that failed for good: its BullMQ job sits in the failed set and is replaced.
    await api.store.start(job.id, 1);
    await api.store.fail(
      job.id,
      { code: 'SOURCE_CHANGED', message: 'changed', retryable: false },
      { final: true },
    );
    const failed = await api.request({ method: 'GET', url: `/v1/jobs/${job.id}`, headers: auth() });
    expect(view(failed)).toMatchObject({
      status: 'failed',
      error: { code: 'SOURCE_CHANGED', retryable: false },
    });
    const again = await api.request({ method: 'POST', url: `/v1/jobs/${job.id}/retry`, headers: auth() });
    expect(again.statusCode).toBe(202);
    expect(view(again)).toMatchObject({ status: 'queued', attempts: 1 });
  });
});
