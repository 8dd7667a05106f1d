import { describe, expect, it } from 'vitest';
import { emptyProgress, type JobRecord, specHash } from './job-record.js';
import { toJobView } from './job-view.js';
import { makeSpec } from './test-support/fixtures.js';

describe('toJobView', () => {
  it('never carries source headers or URL credentials, and formats times as ISO-8601', () => {
    const spec = makeSpec({
      source: {
        type: 'url',
        url: 'https://user:pa55@media.example.com/a.mp4?x=1',
        headers: { Authorization: 'Bearer top-secret' },
      },
      callbackUrl: 'https://hook:hookpass@hooks.example.com/cb',
    });
    const record: JobRecord = {
      id: 'job_0000000000000000000000000a',
      service: 'svc',
      status: 'queued',
      spec,
      specHash: specHash(spec),
      progress: emptyProgress(),
      attempts: 0,
      result: null,
      error: null,
      createdAt: Date.UTC(2030, 0, 2, 3, 4, 5),
      startedAt: null,
      finishedAt: null,
      updatedAt: 0,
    };
    const view = toJobView(record);
    const text = JSON.stringify(view);
    expect(text).not.toContain('top-secret');
    expect(text).not.toContain('Authorization');
    expect(text).not.toContain('pa55');
    expect(text).not.toContain('hookpass');
    expect(view.source).toEqual({ type: 'url', url: 'https://media.example.com/a.mp4?x=1' });
    expect(view).toMatchObject({
      createdAt: '2030-01-02T03:04:05.000Z',
      startedAt: null,
      target: { type: 'vod' },
      priority: 0,
      idempotencyKey: null,
    });
  });
});
