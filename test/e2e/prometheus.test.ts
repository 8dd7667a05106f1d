import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  declaredAlertNames,
  grafanaIntervals,
  type PanelQuery,
  panelQueries,
  ruleFiles,
} from './prometheus-support/observability-queries.js';
import {
  runObservabilityWorkload,
  targetOf,
  WORKER_JOB,
  waitForPromValue,
  waitForTargetUp,
} from './prometheus-support/observability-workload.js';
import { hasPrometheus, PrometheusProcess } from './prometheus-support/prometheus-process.js';
import {
  type EvalRange,
  evaluateAlerts,
  evaluatePanels,
  panelProblems,
  panelReport,
} from './prometheus-support/query-check.js';
import { expectNoCrashes } from './support/expectations.js';
import { SourceServer } from './support/source-server.js';
import { useSystem } from './support/use-system.js';
import { pollUntil } from './support/waits.js';

const METRICS_JOB = 'mediaferry-metrics';
/** Alerts that must stay quiet on a healthy system (Redis up, metrics service and workers scraped). */
const QUIET_WHEN_HEALTHY = [
  'MediaferryRedisUnreachable',
  'MediaferryMetricsServiceDown',
  'MediaferryNoWorkersWhileJobsWait',
  'MediaferryBacklogTooOld',
];

// scripts/test.sh installs Prometheus and sets MEDIAFERRY_NEED_PROMETHEUS=1: there a missing binary
// fails the test instead of skipping it.
const runnable = hasPrometheus() || process.env.MEDIAFERRY_NEED_PROMETHEUS === '1';

describe.skipIf(!runnable)('the Grafana dashboard and alert rules against a real Prometheus', () => {
  const system = useSystem({
    workers: 1,
    env: {
      UPLOAD_PART_SIZE: String(256 * 1024),
      // Short BullMQ locks: the killed worker's job is reclaimed within seconds.
      WORKER_LOCK_DURATION_MS: '4000',
      WORKER_STALLED_INTERVAL_MS: '2000',
      // Client uploads: the emulator posts VOD's signed upload events to the API.
      MEDIAFERRY_VOD_CALLBACK_URL: '{API_URL}/v1/vod/events',
      EMULATOR_VOD_CALLBACK_URL: '{API_URL}/v1/vod/events',
      MEDIAFERRY_VOD_CALLBACK_KEYS: 'prometheus-e2e-callback-key',
      EMULATOR_CALLBACK_PRIVATE_KEY: 'prometheus-e2e-callback-key',
    },
  });
  let prometheus: PrometheusProcess | undefined;
  let sources: SourceServer | undefined;
  /** Panel queries and the range they are evaluated over, set once the workload is visible. */
  let evaluation: { queries: PanelQuery[]; range: EvalRange } | undefined;

  beforeAll(async () => {
    const sys = system();
    sources = await SourceServer.start();
    prometheus = await PrometheusProcess.start({
      jobs: {
        [WORKER_JOB]: sys.workers.map(targetOf),
        [METRICS_JOB]: [new URL(sys.metricsUrl).host],
      },
      ruleFiles: ruleFiles(),
    });
    await waitForTargetUp(prometheus, METRICS_JOB, new URL(sys.metricsUrl).host);
    for (const w of sys.workers) await waitForTargetUp(prometheus, WORKER_JOB, targetOf(w));
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    await sources?.close();
  }, 30_000);

  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      if (prometheus?.log) process.stderr.write(`\n──── prometheus log\n${prometheus.log}\n`);
    });
  });

  const prom = () => {
    if (!prometheus) throw new Error('prometheus is not running (beforeAll failed?)');
    return prometheus;
  };

  it('runs jobs that succeed, fail, retry parts, refresh credentials and resume on another worker', async () => {
    const sys = system();
    const startedAt = Date.now() / 1000;
    const w = await runObservabilityWorkload(sys, prom(), sources!);
    expect(w.succeeded.map((j) => [j.id, j.status, j.error?.code])).toEqual(
      w.succeeded.map((j) => [j.id, 'succeeded', undefined]),
    );
    expect(w.failed.map((j) => [j.status, j.error?.code])).toEqual(
      w.failed.map(() => ['failed', 'SOURCE_NOT_FOUND']),
    );
    expect(w.resumed.status).toBe('succeeded');

    // Prometheus has scraped the end state (all on the standby: the killed worker finished nothing).
    const p = prom();
    const standby = targetOf(w.standby);
    await waitForPromValue(
      p,
      `sum(mediaferry_jobs_total{status="succeeded", instance="${standby}"})`,
      (v) => v === w.succeeded.length + 1,
    );
    await waitForPromValue(
      p,
      `sum(mediaferry_jobs_total{status="failed", error_code="SOURCE_NOT_FOUND"})`,
      (v) => v === w.failed.length,
    );
    await waitForPromValue(p, `sum(mediaferry_resumes_total{instance="${standby}"})`, (v) => v >= 1);
    await waitForPromValue(p, 'sum(mediaferry_resume_skipped_bytes_total)', (v) => v > 0);
    // The emulator's 500s are retried under the error code the dashboard and runbooks name.
    await waitForPromValue(
      p,
      `sum(mediaferry_part_retries_total{reason="STORAGE_ERROR", instance="${standby}"})`,
      (v) => v >= w.injectedPartFailures,
    );
    await waitForPromValue(p, 'sum(mediaferry_queue_completed_total)', (v) => v >= w.succeeded.length + 1);
    await waitForPromValue(p, 'sum(mediaferry_queue_failed_total)', (v) => v >= w.failed.length);
    await waitForPromValue(p, 'sum(mediaferry_queue_stalled_total)', (v) => v >= 1);
    await waitForPromValue(p, `up{job="${WORKER_JOB}", instance="${targetOf(w.killed)}"}`, (v) => v === 0);
    await waitForPromValue(p, 'sum(mediaferry_client_uploads_total{status="completed"})', (v) => v >= 1);
    await waitForPromValue(p, 'sum(mediaferry_vod_events_total{result="bad_signature"})', (v) => v >= 1);

    // Evaluate as a dashboard showing the workload would: its time range ends now, and the
    // step grid is anchored at the end so the last point sees the last events.
    const end = Math.ceil(Date.now() / 1000);
    const { stepSeconds } = grafanaIntervals({ rangeSeconds: end - startedAt });
    const points = Math.ceil((end - startedAt) / stepSeconds);
    const start = end - points * stepSeconds;
    evaluation = {
      queries: panelQueries({ rangeSeconds: end - start }),
      range: { start, end, stepSeconds },
    };
    expectNoCrashes(sys);
  });

  it('every dashboard panel query parses and returns data for that workload (rate panels non-zero)', async () => {
    if (!evaluation) throw new Error('the workload did not run');
    const { queries, range } = evaluation;
    expect(queries.length).toBeGreaterThan(0);
    const outcomes = await evaluatePanels(prom(), queries, range);
    const problems = panelProblems(outcomes);
    expect(problems, `dashboard queries over the workload:\n${panelReport(outcomes)}`).toEqual([]);
  });

  it('every alert rule is loaded, evaluates without error, and the health alerts stay quiet', async () => {
    const p = prom();
    const declared = declaredAlertNames();
    expect(declared.length).toBeGreaterThan(0);
    // Loaded rules are evaluated every second; wait for each to have run once.
    const rules = await pollUntil(
      'every rule to be evaluated',
      async () => {
        const all = await p.rules();
        return all.every((r) => r.health !== 'unknown') ? all : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const alerts = rules.filter((r) => r.type === 'alerting');
    expect(alerts.map((r) => r.name).sort()).toEqual([...declared].sort());
    expect(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.lastError}`)).toEqual([]);

    const outcomes = await evaluateAlerts(
      p,
      alerts.map((r) => ({ name: r.name, query: r.query })),
    );
    expect(outcomes.filter((o) => o.error !== undefined).map((o) => `${o.name}: ${o.error}`)).toEqual([]);
    expect(
      outcomes.filter((o) => QUIET_WHEN_HEALTHY.includes(o.name) && o.firing > 0).map((o) => o.name),
    ).toEqual([]);
  });

  it('reports a panel query that does not parse or matches nothing (the check can fail)', async () => {
    if (!evaluation) throw new Error('the workload did not run');
    const { queries, range } = evaluation;
    const pick = (metric: string) => {
      const q = queries.find((x) => x.promql.includes(metric));
      if (!q) throw new Error(`no panel queries ${metric}`);
      return q;
    };
    const throughput = pick('mediaferry_upload_bytes_total');
    const failures = pick('mediaferry_jobs_total{status="failed"}');
    const broken: PanelQuery[] = [
      { ...throughput, refId: 'unbalanced', promql: throughput.promql.replace(/\)\s*$/, '') },
      {
        ...throughput,
        refId: 'renamed-metric',
        promql: throughput.promql.replace('mediaferry_upload_bytes_total', 'mediaferry_uploaded_bytes_total'),
      },
      { ...failures, refId: 'wrong-label', promql: failures.promql.replace('"failed"', '"failure"') },
      // Audio series exist (initialised at 0) but no audio was uploaded: a flat 0 line.
      {
        ...throughput,
        refId: 'never-moves',
        promql: throughput.promql.replace(
          'mediaferry_upload_bytes_total',
          'mediaferry_upload_bytes_total{media_type="audio"}',
        ),
      },
    ];
    const problems = panelProblems(await evaluatePanels(prom(), broken, range));
    expect(problems).toHaveLength(broken.length);
    expect(problems[0]).toMatch(/\[unbalanced\] is refused by Prometheus: bad_data: .*parse error/);
    expect(problems[1]).toMatch(/\[renamed-metric\] returned no data/);
    expect(problems[2]).toMatch(/\[wrong-label\] returned no data/);
    expect(problems[3]).toMatch(/\[never-moves\] stayed at 0/);
  });
});
