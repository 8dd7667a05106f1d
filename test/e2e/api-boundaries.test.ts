import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ApiError } from '@mediaferry/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoCrashes, expectNoSecrets, expectObjectMatches } from './support/expectations.js';
import { waitForProgress, waitForTerminal } from './support/job-waits.js';
import { malformedRequests } from './support/malformed-requests.js';
import { makeRandomFile, mib } from './support/media-files.js';
import { scrapeMetric } from './support/metrics.js';
import { listOpenUploads } from './support/object-check.js';
import { SourceServer } from './support/source-server.js';
import { useSystem } from './support/use-system.js';
import { pollUntil } from './support/waits.js';

/** The ApiError a promise rejects with (fails the test if it resolves). */
async function apiError(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
}

describe('API boundaries: tenancy, authentication, malformed input, cancel', () => {
  const system = useSystem({
    workers: 1,
    services: ['svc-a', 'svc-b', 'svc-c'],
    env: { UPLOAD_PART_SIZE: '262144' },
  });
  let slowSources: SourceServer;

  beforeAll(async () => {
    // 512 KiB/s per response: a 6 MiB URL upload lasts ~12 s, long enough to cancel midway.
    slowSources = await SourceServer.start({ bytesPerSecond: 512 * 1024 });
  });
  afterAll(async () => {
    await slowSources?.close();
  });

  it("hides a service's jobs from other services (404) and refuses missing tokens (401)", async () => {
    const sys = system();
    const a = sys.client('svc-a');
    const b = sys.client('svc-b');
    const file = await makeRandomFile(sys.mediaDir, 'tenant-a.mp4', mib(0.4));
    const job = await a.createJob({
      source: { type: 'file', path: file.path },
      media: { type: 'video', title: 'A only' },
    });

    const nonexistent = await apiError(b.getJob('job_00000000000000000000000000'));
    for (const attempt of [b.getJob(job.id), b.cancelJob(job.id), b.retryJob(job.id)]) {
      const err = await apiError(attempt);
      expect({ status: err.status, code: err.code }).toEqual({ status: 404, code: 'NOT_FOUND' });
      // Indistinguishable from a job that does not exist.
      expect(err.status).toBe(nonexistent.status);
    }
    const eventsErr = await apiError(
      (async () => {
        for await (const _ of b.events(job.id)) break;
      })(),
    );
    expect(eventsErr.status).toBe(404);
    const listed = [];
    for await (const j of b.listAllJobs()) listed.push(j.id);
    expect(listed).not.toContain(job.id);

    // svc-a still sees it, and it was never touched by svc-b's attempts.
    const done = await waitForTerminal(a, job.id);
    await expectObjectMatches(sys, done, file);

    for (const [method, p] of [
      ['GET', `/v1/jobs/${job.id}`],
      ['GET', '/v1/jobs'],
      ['POST', '/v1/jobs'],
      ['DELETE', `/v1/jobs/${job.id}`],
      ['POST', `/v1/jobs/${job.id}/retry`],
      ['GET', `/v1/jobs/${job.id}/events`],
    ] as const) {
      const res = await sys.request(method, p, {
        headers: { 'content-type': 'application/json' },
        ...(method === 'POST' ? { body: '{}' } : {}),
      });
      expect(res.status, `${method} ${p}`).toBe(401);
      expect(JSON.parse(res.text)).toMatchObject({
        error: { code: 'UNAUTHORIZED', message: expect.any(String) },
      });
    }
    const wrong = await apiError(sys.client('svc-a', { token: 'not-a-token' }).getJob(job.id));
    expect({ status: wrong.status, code: wrong.code }).toEqual({ status: 401, code: 'UNAUTHORIZED' });
    for (const open of ['/healthz', '/readyz', '/openapi.json']) {
      expect((await sys.request('GET', open)).status, open).toBe(200);
    }
  });

  it('answers 200+ malformed requests with 4xx JSON errors and no process dies', async () => {
    const sys = system();
    const validFile = await makeRandomFile(sys.mediaDir, 'malformed-base.mp4', 1024);
    const requests = malformedRequests({
      token: sys.services['svc-c']!.token,
      validFile: validFile.path,
      missingFile: path.join(sys.mediaDir, 'does-not-exist.mp4'),
    });
    expect(requests.length).toBeGreaterThanOrEqual(200);
    const bad: string[] = [];
    const queue = [...requests];
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        for (let r = queue.shift(); r; r = queue.shift()) {
          let status: number;
          let text: string;
          try {
            ({ status, text } = await sys.request(r.method, r.path, {
              headers: r.headers,
              ...(r.body === undefined ? {} : { body: r.body }),
            }));
          } catch (err) {
            bad.push(`${r.label}: request failed (${(err as Error).message})`);
            continue;
          }
          let code: unknown;
          try {
            code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
          } catch {
            code = undefined;
          }
          if (status < 400 || status > 499 || typeof code !== 'string') {
            bad.push(`${r.label}: ${status} ${text.slice(0, 160)}`);
          }
        }
      }),
    );
    expect(bad).toEqual([]);
    expectNoCrashes(sys);
    expect((await sys.request('GET', '/readyz')).status).toBe(200);
    // svc-c created nothing.
    const page = await sys.client('svc-c').listJobs({ limit: 10 });
    expect(page.jobs).toEqual([]);
  });

  it('cancels mid-upload: status canceled, the multipart upload aborted, nothing left behind', async () => {
    const sys = system();
    const client = sys.client('svc-a');
    const title = `Cancel me ${randomBytes(3).toString('hex')}`;
    const file = await makeRandomFile(sys.mediaDir, 'cancel-me.mp4', mib(6));
    const job = await client.createJob({
      source: { type: 'url', url: slowSources.serve('cancel-me.mp4', file.path) },
      media: { type: 'video', title },
    });
    await waitForProgress(client, job.id, (p) => p.partsDone >= 2);
    const media = (await sys.admin.listMedia()).find((m) => m.title === title);
    expect(media, 'the job created no media').toBeDefined();
    const { bucket, key } = media!;
    expect(await listOpenUploads(sys.ossAccount, bucket, key)).toHaveLength(1);

    const canceled = await client.cancelJob(job.id);
    expect(canceled.status).toBe('canceled');
    const abort = await pollUntil('AbortMultipartUpload of the canceled key', async () =>
      (await sys.admin.requests({ operation: 'AbortMultipartUpload' })).find(
        (e) => e.key === key && e.status === 204,
      ),
    );
    // The worker let go of the job (its active-jobs gauge is back to 0) before we look for leftovers.
    await pollUntil('the worker to drop the job', async () => {
      return (await scrapeMetric(sys.worker(0).metricsUrl, 'mediaferry_active_jobs')) === 0
        ? true
        : undefined;
    });
    expect(await listOpenUploads(sys.ossAccount, bucket, key)).toEqual([]);
    expect((await sys.admin.listUploads(bucket)).filter((u) => u.key === key)).toEqual([]);
    expect((await sys.admin.listObjects(bucket)).filter((o) => o.key === key)).toEqual([]);
    const lateParts = (await sys.admin.requests({ since: abort.seq, operation: 'UploadPart' })).filter(
      (e) => e.key === key && e.status === 200,
    );
    expect(lateParts, 'parts were stored after the abort').toEqual([]);
    expect((await client.getJob(job.id)).status).toBe('canceled');
    expectNoCrashes(sys);
  });

  it('leaks no secret into logs or responses', () => {
    expectNoSecrets(system());
  });
});
