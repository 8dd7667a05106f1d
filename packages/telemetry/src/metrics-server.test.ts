import { Counter, Gauge, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { type MetricsServer, startMetricsServer } from './metrics-server.js';

describe('startMetricsServer', () => {
  let server: MetricsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('serves /metrics in the Prometheus text format and answers probes', async () => {
    const registry = new Registry();
    new Counter({ name: 'mediaferry_test_total', help: 'test', registers: [registry] }).inc(3);
    let healthy = true;
    server = await startMetricsServer({ port: 0, host: '127.0.0.1', registry, health: async () => healthy });

    const metrics = await fetch(`${server.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    expect(await metrics.text()).toContain('mediaferry_test_total 3');

    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    healthy = false;
    const down = await fetch(`${server.url}/healthz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ status: 'unavailable' });
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
    expect((await fetch(`${server.url}/metrics`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${server.url}/metrics`, { method: 'HEAD' })).status).toBe(200);
  });

  it('treats a throwing or hanging check as failed, and readiness separately from liveness', async () => {
    server = await startMetricsServer({
      port: 0,
      host: '127.0.0.1',
      registry: new Registry(),
      health: () => new Promise<boolean>(() => {}),
      ready: () => {
        throw new Error('redis down');
      },
      checkTimeoutMs: 50,
    });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(503);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
  });

  it('answers 500 when a collector throws, and keeps serving', async () => {
    const registry = new Registry();
    let fail = true;
    new Gauge({
      name: 'mediaferry_flaky',
      help: 'test',
      registers: [registry],
      collect() {
        if (fail) throw new Error('collector broke');
        this.set(1);
      },
    });
    server = await startMetricsServer({ port: 0, host: '127.0.0.1', registry });
    const broken = await fetch(`${server.url}/metrics`);
    expect(broken.status).toBe(500);
    expect(await broken.text()).toContain('collector broke');
    fail = false;
    expect(await (await fetch(`${server.url}/metrics`)).text()).toContain('mediaferry_flaky 1');
  });

  it('closes idempotently and frees the port', async () => {
    server = await startMetricsServer({ port: 0, host: '127.0.0.1', registry: new Registry() });
    const { port } = server;
    await Promise.all([server.close(), server.close()]);
    const again = await startMetricsServer({ port, host: '127.0.0.1', registry: new Registry() });
    await again.close();
  });
});
