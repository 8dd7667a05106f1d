import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { createWorkerMetrics, type MetricsServer, startMetricsServer } from '@mediaferry/telemetry';
import { type RedisServer, startRedisServer } from '@mediaferry/testkit';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MetricsApp, startMetricsApp } from '../app.js';
import { INFRA, listFiles, loadExtractQueries } from '../test-support/infra-files.js';
import { hasPrometheus, type PrometheusServer, startPrometheus } from '../test-support/prometheus-server.js';
import { eventually } from '../test-support/prometheus-text.js';

/**
 * A real Prometheus scraping the real metrics service (real Redis + BullMQ) and a worker metrics
 * endpoint built from @mediaferry/telemetry (the code the worker uses), driven with upload events.
 * Every dashboard query must return data and every alert rule must evaluate without error.
 * Skipped when no `prometheus` binary is installed (Debian package `prometheus`).
 */
describe.skipIf(!hasPrometheus())('dashboard and alerts against a real Prometheus', () => {
  let redis: RedisServer;
  let app: MetricsApp;
  let workerEndpoint: MetricsServer;
  let prometheus: PrometheusServer;
  let driver: NodeJS.Timeout | undefined;
  const connections: Redis[] = [];
  const closers: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    redis = await startRedisServer();
    const prefix = `mf-live-${randomUUID().slice(0, 8)}`;
    app = await startMetricsApp({
      config: { redisUrl: redis.url, redisPrefix: prefix, metricsPort: 0, bindHost: '127.0.0.1' },
    });
    await app.queueMetrics.ready();

    // Queue state: jobs waiting, one completed, one failed for good.
    const conn = () => {
      const c = new Redis(redis.url, { maxRetriesPerRequest: null });
      connections.push(c);
      return c;
    };
    const queue = new Queue('uploads', { connection: conn(), prefix });
    const consumer = new Worker('uploads', null, { connection: conn(), prefix });
    closers.push(
      () => consumer.close(),
      () => queue.close(),
    );
    const token = randomUUID();
    for (const outcome of ['ok', 'fail']) {
      await queue.add('upload', {});
      const job = (await consumer.getNextJob(token))!;
      if (outcome === 'ok') await job.moveToCompleted('done', token, false);
      else await job.moveToFailed(new Error('boom'), token, false);
    }
    await queue.add('upload', {}, { timestamp: Date.now() - 120_000 });
    await queue.add('upload', {});

    // Worker metrics, driven continuously so every rate() has increments in its window.
    const metrics = createWorkerMetrics();
    workerEndpoint = await startMetricsServer({ port: 0, host: '127.0.0.1', registry: metrics.registry });
    metrics.trackJob({ sourceType: 'url', mediaType: 'video' }); // stays active
    let tick = 0;
    driver = setInterval(() => {
      tick++;
      const job = metrics.trackJob({ sourceType: tick % 2 ? 'file' : 'url', mediaType: 'video' });
      job.sourceBytes(8 * 1024 * 1024);
      job.events.onPartUploaded({ durationMs: 40 + (tick % 7) * 30, bytes: 8 * 1024 * 1024 });
      job.events.onPartRetry({ reason: tick % 3 ? 'THROTTLED' : 'NETWORK_ERROR' });
      job.events.onResume({ skippedBytes: 16 * 1024 * 1024 });
      metrics.credentialRefreshed();
      job.finish(
        tick % 4 === 0
          ? { status: 'failed', errorCode: 'SOURCE_NOT_FOUND', durationSeconds: 2 }
          : { status: 'succeeded', durationSeconds: 30 + tick },
      );
    }, 200);

    const hostPort = (url: string) => new URL(url).host;
    prometheus = await startPrometheus({
      jobs: {
        'mediaferry-worker': [hostPort(workerEndpoint.url)],
        'mediaferry-metrics': [hostPort(app.server.url)],
      },
      ruleFiles: listFiles('prometheus/rules', '.yml').map((f) => path.join(INFRA, 'prometheus', 'rules', f)),
    });
    await eventually(async () => {
      const up = await prometheus.query('up == 1');
      return up.length === 2;
    }, 'both targets scraped');
  });

  afterAll(async () => {
    clearInterval(driver);
    await prometheus?.stop();
    await workerEndpoint?.close();
    for (const close of closers) await close().catch(() => {});
    for (const c of connections) c.disconnect();
    await app?.close();
    await redis?.stop();
  });

  it('returns data for every dashboard query', async () => {
    const { loadDashboardQueries, expandVariables } = await loadExtractQueries();
    const queries = loadDashboardQueries();
    // Windows short enough for a test that has run for seconds, long enough for 1 s scrapes.
    const variables = { __rate_interval: '5s', __interval: '1s', __range: '1m', queue: 'uploads' };
    const empty = await eventually(
      async () => {
        const missing: string[] = [];
        for (const q of queries) {
          const expr = expandVariables(q.expr, variables);
          const result = await prometheus.query(expr);
          if (result.length === 0) missing.push(`${q.panel} [${q.refId}]: ${expr}`);
        }
        return missing.length === 0 ? [] : undefined;
      },
      'every dashboard query to return data',
      45_000,
    ).catch((err: Error) => [err.message]);
    expect(empty).toEqual([]);
  });

  it('evaluates every alert rule without error', async () => {
    await eventually(async () => {
      const { groups } = await prometheus.api<{
        groups: Array<{ rules: Array<{ name: string; health: string }> }>;
      }>('rules');
      const rules = groups.flatMap((g) => g.rules);
      return rules.length >= 8 && rules.every((r) => r.health === 'ok');
    }, 'all rules healthy');
    // The queue is not empty, workers are up and bytes move: no stall, no missing workers.
    const firing = await prometheus.api<{ alerts: Array<{ labels: { alertname: string } }> }>('alerts');
    const names = firing.alerts.map((a) => a.labels.alertname);
    expect(names).not.toContain('MediaferryNoWorkersWhileJobsWait');
    expect(names).not.toContain('MediaferryRedisUnreachable');
    expect(names).not.toContain('MediaferryMetricsServiceDown');
  });
});
