import { describe, expect, it } from 'vitest';
import { auth, fileJob, useApi } from './test-support/api-fixture.js';

const api = useApi();

describe('health, docs, admin, and Redis outages', () => {
  it('serves /healthz, /readyz and /openapi.json without auth', async () => {
    expect((await api.request({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await api.request({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    const doc = (await api.request({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/jobs',
        '/v1/jobs/batch',
        '/v1/jobs/{id}',
        '/v1/jobs/{id}/retry',
        '/v1/jobs/{id}/events',
      ]),
    );
    // Generated from the zod schemas: the spec's constraints show up.
    const spec = doc.components.schemas.JobSpec;
    expect(spec.properties.source.oneOf).toHaveLength(2);
    expect(spec.additionalProperties).toBe(false);
    expect(doc.components.schemas.Job.properties.status.enum).toEqual([
      'queued',
      'running',
      'succeeded',
      'failed',
      'canceled',
    ]);
  });

  it('documents every route with the errors it can answer', async () => {
    const doc = (await api.request({ method: 'GET', url: '/openapi.json' })).json();
    const operations = Object.entries(
      doc.paths as Record<string, Record<string, { responses: object }>>,
    ).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })));
    for (const { path, method, op } of operations) {
      const route = { method: method.toUpperCase() as 'GET', url: path.replace(/\{(\w+)\}/g, ':$1') };
      expect(api.app.hasRoute(route), `${method} ${path} is served`).toBe(true);
      const codes = Object.keys(op.responses);
      // VOD's callbacks are not rate-limited (a throttled VOD drops events): no 429 there.
      if (path.startsWith('/v1/')) {
        const expected = path === '/v1/vod/events' ? ['401', '500', '503'] : ['401', '429', '500', '503'];
        expect(codes, `${method} ${path}`).toEqual(expect.arrayContaining(expected));
      }
      if (path.includes('{id}')) expect(codes, `${method} ${path}`).toContain('404');
      if (method === 'post' && !path.endsWith('/retry')) {
        expect(codes, `${method} ${path}`).toEqual(expect.arrayContaining(['400', '413', '415']));
      }
    }
    expect(operations.map((o) => `${o.method} ${o.path}`)).toEqual(
      expect.arrayContaining(['get /v1/jobs', 'get /v1/jobs/{id}/events', 'get /admin/queues']),
    );
    expect(doc.paths['/v1/jobs'].get.responses).toHaveProperty('400');
  });

  it('puts bull-board behind the bearer auth', async () => {
    const anonymous = await api.request({ method: 'GET', url: '/admin/queues/api/queues' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json().error.code).toBe('UNAUTHORIZED');
    const page = await api.request({ method: 'GET', url: '/admin/queues', headers: auth() });
    expect(page.statusCode).toBe(200);
    const queues = await api.request({ method: 'GET', url: '/admin/queues/api/queues', headers: auth() });
    expect(queues.json().queues.map((q: { name: string }) => q.name)).toEqual(['uploads']);
    // Its API's errors have our shape too.
    const missing = await api.request({
      method: 'GET',
      url: '/admin/queues/api/queues/no-such-queue/job_1',
      headers: auth(),
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) } });
  });

  it('answers 503 UNAVAILABLE quickly while Redis is down, and recovers', async () => {
    const created = await api.createJob(fileJob(api));
    expect(created.statusCode).toBe(202);
    const id = created.json().id;
    await api.redisServer.kill();
    const started = performance.now();
    const ready = await api.request({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().error.code).toBe('UNAVAILABLE');
    const payloads: Record<string, object> = {
      '/v1/jobs': fileJob(api),
      '/v1/jobs/batch': { jobs: [fileJob(api)] },
    };
    for (const [method, url] of [
      ['POST', '/v1/jobs'],
      ['POST', '/v1/jobs/batch'],
      ['GET', '/v1/jobs'],
      ['GET', `/v1/jobs/${id}`],
      ['GET', `/v1/jobs/${id}/events`],
      ['DELETE', `/v1/jobs/${id}`],
      ['POST', `/v1/jobs/${id}/retry`],
      ['GET', '/admin/queues/api/queues'],
      ['PUT', '/admin/queues/api/queues/uploads/pause'],
    ] as const) {
      const payload = method === 'POST' ? payloads[url] : undefined;
      const res = await api.request({ method, url, headers: auth(), ...(payload ? { payload } : {}) });
      expect(res.statusCode, `${method} ${url}`).toBe(503);
      expect(res.json().error.code).toBe('UNAVAILABLE');
    }
    expect(performance.now() - started).toBeLessThan(5000);
    expect((await api.request({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);

    await api.redisServer.restart();
    while (api.redis.status !== 'ready') await new Promise((r) => setTimeout(r, 20));
    expect((await api.request({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    expect((await api.createJob(fileJob(api))).statusCode).toBe(202);
  });
});
