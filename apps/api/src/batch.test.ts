import { describe, expect, it } from 'vitest';
import { auth, fileJob, useApi } from './test-support/api-fixture.js';

const api = useApi();

const batch = (jobs: unknown, who: 'a' | 'b' = 'a') =>
  api.request({ method: 'POST', url: '/v1/jobs/batch', headers: auth(who), payload: { jobs } as object });

describe('POST /v1/jobs/batch', () => {
  it('accepts 300 valid jobs with 202 and one BullMQ job each', async () => {
    const jobs = Array.from({ length: 300 }, (_, i) =>
      fileJob(api, { media: { type: 'video', title: `T${i}` } }),
    );
    const res = await batch(jobs, 'b');
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body.jobs).toHaveLength(300);
    expect(body.jobs.map((j: { media: { title: string } }) => j.media.title)).toEqual(
      jobs.map((j) => (j.media as { title: string }).title),
    );
    expect(new Set(body.jobs.map((j: { id: string }) => j.id)).size).toBe(300);
    expect(await api.queue.getJobCountByTypes('wait', 'prioritized')).toBe(300);
  });

  it('accepts or refuses each job on its own (207), keeping positions', async () => {
    const res = await batch([
      fileJob(api, { idempotencyKey: 'b-1' }),
      { source: { type: 'file', path: '/etc/passwd' }, media: { type: 'video', title: 'X' } },
      { media: { type: 'video' } },
      fileJob(api, { idempotencyKey: 'b-1' }), // same key twice in one batch: the same job
      fileJob(api, { idempotencyKey: 'b-1', media: { type: 'audio', title: 'other' } }),
      fileJob(api, { callbackUrl: 'https://hooks.example.com/h' }),
    ]);
    expect(res.statusCode).toBe(207);
    const [ok, forbidden, invalid, repeat, conflict, withHook] = res.json().jobs;
    expect(ok.status).toBe('queued');
    expect(forbidden.error.code).toBe('SOURCE_FORBIDDEN');
    expect(invalid.error.code).toBe('VALIDATION_FAILED');
    expect(invalid.error.details.fields.map((f: { path: string }) => f.path)).toEqual(
      expect.arrayContaining(['source', 'media.title']),
    );
    expect(repeat.id).toBe(ok.id);
    expect(conflict.error.code).toBe('CONFLICT');
    expect(withHook.callbackUrl).toBe('https://hooks.example.com/h');
    // A repeat of the whole batch creates nothing new for the keyed job.
    const again = await batch([fileJob(api, { idempotencyKey: 'b-1' })]);
    expect(again.statusCode).toBe(202);
    expect(again.json().jobs[0].id).toBe(ok.id);
  });

  it('refuses a malformed batch as a whole', async () => {
    const tooMany = await batch(Array.from({ length: 1001 }, () => ({})));
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().error.details.fields[0].path).toBe('jobs');
    expect((await batch([])).statusCode).toBe(400);
    expect((await batch('nope')).statusCode).toBe(400);
    const header = await api.request({
      method: 'POST',
      url: '/v1/jobs/batch',
      headers: { ...auth(), 'idempotency-key': 'k' },
      payload: { jobs: [fileJob(api)] },
    });
    expect(header.statusCode).toBe(400);
  });
});
