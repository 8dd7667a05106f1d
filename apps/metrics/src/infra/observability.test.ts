import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { createWorkerMetrics } from '@mediaferry/telemetry';
import { freePort } from '@mediaferry/testkit';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ClientUploadCounters } from '../client-upload-counters.js';
import { createQueueMetrics } from '../queue-metrics.js';
import { INFRA, listFiles, loadExtractQueries, readText, readYaml } from '../test-support/infra-files.js';

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML/JSON, walked freely by the assertions
type Obj = Record<string, any>;

/** Grafana's datasource reference through the dashboard's `datasource` variable. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: a Grafana variable, not a JS template
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

const dashboardFiles = listFiles('grafana/dashboards', '.json');
const dashboards = dashboardFiles.map((f) => JSON.parse(readText('grafana', 'dashboards', f)) as Obj);
const panelsOf = (d: Obj): Obj[] =>
  (d['panels'] as Obj[]).flatMap((p) => [p, ...((p['panels'] as Obj[] | undefined) ?? [])]);
const alertRules: Obj[] = listFiles('prometheus/rules', '.yml').flatMap((f) =>
  (readYaml('prometheus', 'rules', f) as { groups: Obj[] }).groups.flatMap((g) => g['rules'] as Obj[]),
);
const alerts = alertRules.filter((r) => r['alert']);

/** CONTRACT §5: the metric names dashboards and alerts rely on. */
const CONTRACT_METRICS = [
  'mediaferry_upload_bytes_total',
  'mediaferry_source_bytes_total',
  'mediaferry_jobs_total',
  'mediaferry_job_duration_seconds',
  'mediaferry_part_upload_duration_seconds',
  'mediaferry_part_retries_total',
  'mediaferry_resumes_total',
  'mediaferry_resume_skipped_bytes_total',
  'mediaferry_credential_refreshes_total',
  'mediaferry_active_jobs',
  'mediaferry_worker_up',
  'mediaferry_queue_jobs',
  'mediaferry_queue_oldest_waiting_seconds',
];

/** Every sample name our processes expose (histograms as _bucket/_sum/_count too). */
async function exportedNames(): Promise<Set<string>> {
  const names = new Set<string>();
  const add = async (registry: Registry) => {
    for (const m of await registry.getMetricsAsJSON()) {
      names.add(m.name);
      if (String(m.type) === 'histogram')
        for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
      if (String(m.type) === 'summary') for (const s of ['_sum', '_count']) names.add(m.name + s);
    }
  };
  await add(createWorkerMetrics().registry);
  const defaults = new Registry();
  collectDefaultMetrics({ register: defaults });
  await add(defaults);
  // Registered at construction; nothing listens on this port, and no scrape is made.
  const queue = createQueueMetrics({
    redis: `redis://127.0.0.1:${await freePort()}`,
    queues: ['uploads'],
  });
  try {
    for (const m of queue.registry.getMetricsAsArray()) names.add((m as unknown as { name: string }).name);
  } finally {
    await queue.close();
  }
  const cuRegistry = new Registry();
  const cu = new ClientUploadCounters({
    redisUrl: `redis://127.0.0.1:${await freePort()}`,
    prefix: 'x',
    registry: cuRegistry,
  });
  for (const m of cuRegistry.getMetricsAsArray()) names.add((m as unknown as { name: string }).name);
  await cu.close();
  return names;
}

const PROMQL_KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'offset',
  'bool',
]);

/** Metric names referenced by a PromQL expression (identifiers that are not functions, keywords or labels). */
function metricNames(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const withoutLabels = withoutStrings
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const names = new Set<string>();
  for (const m of withoutLabels.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)) {
    const name = m[1]!;
    if (PROMQL_KEYWORDS.has(name) || /^\d/.test(name) || /^\d+[smhdwy]$/.test(name)) continue;
    if (/^(inf|nan)$/i.test(name)) continue;
    names.add(name);
  }
  return [...names];
}

describe('metric name extraction from PromQL', () => {
  it('finds metrics and nothing else', () => {
    expect(
      metricNames(
        'histogram_quantile(0.9, sum by (le) (rate(bogus_bucket{a="b c"}[5m]))) / on() group_left vector(1) ' +
          'and on(instance) up unless ignoring(x) (other_total offset 1h) > 0',
      ).sort(),
    ).toEqual(['bogus_bucket', 'other_total', 'up']);
  });
});

describe('Grafana dashboard', () => {
  const d = dashboards[0]!;
  const panels = panelsOf(d).filter((p) => p['type'] !== 'row');

  it('selects its datasource through the datasource variable, everywhere', () => {
    const vars = d['templating'].list as Obj[];
    expect(vars.find((v) => v['name'] === 'datasource')).toMatchObject({
      type: 'datasource',
      query: 'prometheus',
    });
    for (const p of panels) {
      expect(p['datasource'], p['title']).toEqual(DATASOURCE);
      for (const t of p['targets']) expect(t.datasource, p['title']).toEqual(DATASOURCE);
    }
  });

  it('has every panel SREs need, each with a description of what it means and what normal looks like', () => {
    const titles = panels.map((p) => String(p['title']).toLowerCase());
    for (const wanted of [
      'upload throughput',
      'jobs finished',
      'failure ratio',
      'failures by error code',
      'queue depth',
      'oldest waiting',
      'job duration',
      'part upload latency',
      'part retries',
      'resumes and skipped bytes',
      'credential refreshes',
      'active jobs per worker',
      'workers up',
    ]) {
      expect(
        titles.some((t) => t.includes(wanted)),
        wanted,
      ).toBe(true);
    }
    for (const p of panels) {
      expect(String(p['description']).length, p['title']).toBeGreaterThan(80);
      expect(p['description'], p['title']).toMatch(/Normal:/);
    }
    const ids = panelsOf(d).map((p) => p['id']);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('exposes its PromQL programmatically, and only uses metric names the code exports', async () => {
    const { loadDashboardQueries, expandVariables } = await loadExtractQueries();
    const queries = loadDashboardQueries();
    expect(queries.length).toBeGreaterThanOrEqual(panels.length);
    expect(new Set(queries.map((q) => q.panel))).toEqual(new Set(panels.map((p) => p['title'])));
    const exported = await exportedNames();
    const used = new Set<string>();
    for (const q of queries) {
      const expr = expandVariables(q.expr);
      expect(expr, q.panel).not.toContain('$');
      for (const name of metricNames(expr)) {
        expect(exported.has(name), `${q.panel}: ${name}`).toBe(true);
        used.add(name.replace(/_(bucket|sum|count)$/, ''));
      }
    }
    for (const name of CONTRACT_METRICS) expect(used.has(name), `dashboard shows ${name}`).toBe(true);
  });
});

describe('Prometheus alert rules', () => {
  it('cover failure ratio, backlog age, missing workers, stalls, storms and the metrics service', () => {
    expect(alerts.map((a) => a['alert']).sort()).toEqual(
      [
        'MediaferryBacklogTooOld',
        'MediaferryClientUploadAbuse',
        'MediaferryJobFailureRatioHigh',
        'MediaferryMetricsServiceDown',
        'MediaferryNoWorkersWhileJobsWait',
        'MediaferryPartRetryStorm',
        'MediaferryRedisUnreachable',
        'MediaferryResumeStorm',
        'MediaferryThroughputStalled',
      ].sort(),
    );
  });

  it('each has a severity, a summary, a description and a runbook line', () => {
    for (const a of alerts) {
      expect(['warning', 'critical'], a['alert']).toContain(a['labels'].severity);
      for (const key of ['summary', 'description', 'runbook']) {
        expect(String(a['annotations'][key] ?? '').length, `${a['alert']} ${key}`).toBeGreaterThan(20);
      }
    }
  });

  it('use only metric names the code exports', async () => {
    const exported = await exportedNames();
    for (const r of alertRules) {
      for (const name of metricNames(r['expr']))
        expect(exported.has(name), `${r['alert']}: ${name}`).toBe(true);
    }
  });

  it('each has promtool unit tests that see it fire and stay quiet', () => {
    const cases = listFiles('prometheus/tests', '.yml').flatMap((f) =>
      (readYaml('prometheus', 'tests', f) as { tests: Obj[] }).tests.flatMap(
        (t) => t['alert_rule_test'] as Obj[],
      ),
    );
    for (const a of alerts) {
      const mine = cases.filter((c) => c['alertname'] === a['alert']);
      expect(
        mine.some((c) => c['exp_alerts'].length > 0),
        `${a['alert']} fires`,
      ).toBe(true);
      expect(
        mine.some((c) => c['exp_alerts'].length === 0),
        `${a['alert']} stays quiet`,
      ).toBe(true);
    }
  });

  const promtool = spawnSync('promtool', ['--version']).status === 0;
  it.skipIf(!promtool)(
    'pass `promtool test rules` (when promtool is installed; infra/check.sh runs it in CI)',
    () => {
      const dir = path.join(INFRA, 'prometheus');
      const tests = listFiles('prometheus/tests', '.yml').map((f) => path.join('tests', f));
      const run = spawnSync('promtool', ['test', 'rules', ...tests], { cwd: dir, encoding: 'utf8' });
      expect(run.status, run.stdout + run.stderr).toBe(0);
    },
  );
});
