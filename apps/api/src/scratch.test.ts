import { describe, it } from 'vitest';
import { auth, useApi } from './test-support/api-fixture.js';

const api = useApi();

describe('scratch', () => {
  it('admin', async () => {
    for (const url of ['/admin/queues/api/queues', '/admin/queues/api/nonexistent', '/admin/queues/api/queues/nope/job1', '/admin/queues/api/queues/uploads/job_x', '/admin/queues/whatever']) {
      const res = await api.request({ method: 'GET', url, headers: auth() });
      console.log(url, res.statusCode, res.headers['content-type'], res.body.slice(0, 150));
    }
    const res = await api.request({ method: 'PUT', url: '/admin/queues/api/queues/uploads/pause', headers: auth() });
    console.log('PUT pause', res.statusCode, res.body.slice(0, 150));
    await api.redisServer.kill();
    for (const url of ['/admin/queues/api/queues', '/admin/queues']) {
      const res = await api.request({ method: 'GET', url, headers: auth() });
      console.log(url, res.statusCode, res.headers['content-type'], res.body.slice(0, 150));
    }
    await api.redisServer.restart();
  }, 30000);
});
