import { describe, expect, it } from 'vitest';
import { auth, fileJob, useApi } from './test-support/api-fixture.js';

const api = useApi();

describe('scratch', () => {
  it('redis down on other routes', async () => {
    const created = await api.createJob(fileJob(api));
    const id = created.json().id;
    await api.redisServer.kill();
    for (const [method, url, payload] of [
      ['POST', '/v1/jobs/batch', { jobs: [fileJob(api)] }],
      ['GET', `/v1/jobs/${id}/events`, undefined],
      ['GET', '/admin/queues/api/queues', undefined],
      ['GET', '/admin/queues', undefined],
    ] as const) {
      const t = performance.now();
      const res = await api.request({ method, url, headers: auth(), ...(payload ? { payload } : {}) });
      console.log(method, url, res.statusCode, res.headers['content-type'], res.body.slice(0, 200), Math.round(performance.now() - t));
    }
    await api.redisServer.restart();
  }, 30000);
});
