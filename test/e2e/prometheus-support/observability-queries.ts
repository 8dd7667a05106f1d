import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  DASHBOARDS_DIR,
  type DashboardQuery,
  expandVariables,
  loadDashboardQueries,
} from '../../../infra/grafana/extract-queries.ts';
import { REPO_ROOT } from '../support/app-process.js';

export type { DashboardQuery };

export const RULES_DIR = path.join(REPO_ROOT, 'infra', 'prometheus', 'rules');

/**
 * The datasource's scrape interval as Grafana knows it (`jsonData.timeInterval` in
 * infra/grafana/provisioning): Grafana never makes `$__interval` shorter, and `$__rate_interval`
 * at least four of them.
 */
export const GRAFANA_SCRAPE_INTERVAL_SECONDS = 15;

/** A dashboard query with its Grafana variables replaced, ready for Prometheus. */
export interface PanelQuery extends DashboardQuery {
  promql: string;
}

export interface GrafanaTiming {
  /** Width of the dashboard's time range. */
  rangeSeconds: number;
  /** @defaultValue GRAFANA_SCRAPE_INTERVAL_SECONDS */
  scrapeIntervalSeconds?: number;
  /** Grafana's default "max data points" for a panel about 1000 px wide. @defaultValue 1000 */
  maxDataPoints?: number;
}

/**
 * Grafana's built-in interval variables for a time range:
 * `$__interval` = max(range ÷ maxDataPoints, scrape interval) (also the query step) and
 * `$__rate_interval` = max($__interval + scrape interval, 4 × scrape interval). With the
 * provisioned 15 s scrape interval that is a 15 s step and `[1m]` rate windows.
 */
export function grafanaIntervals(t: GrafanaTiming): {
  stepSeconds: number;
  variables: Record<string, string>;
} {
  const scrape = t.scrapeIntervalSeconds ?? GRAFANA_SCRAPE_INTERVAL_SECONDS;
  const step = Math.max(Math.ceil(t.rangeSeconds / (t.maxDataPoints ?? 1000)), scrape);
  return {
    stepSeconds: step,
    variables: {
      __interval: `${step}s`,
      __rate_interval: `${Math.max(step + scrape, 4 * scrape)}s`,
      __range: `${Math.ceil(t.rangeSeconds)}s`,
    },
  };
}

interface DashboardJson {
  templating?: { list?: Array<{ name?: string; type?: string; current?: { value?: unknown } }> };
}

/** The dashboards' template variables (e.g. `queue`) at their saved current values. */
export function dashboardTemplateValues(dir: string = DASHBOARDS_DIR): Record<string, string> {
  const values: Record<string, string> = {};
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const dashboard = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as DashboardJson;
    for (const v of dashboard.templating?.list ?? []) {
      // `datasource` selects where queries go; it never appears inside PromQL.
      if (v.type === 'datasource' || !v.name || typeof v.current?.value !== 'string') continue;
      values[v.name] = v.current.value;
    }
  }
  return values;
}

/**
 * Every PromQL target of every provisioned dashboard, variables expanded as Grafana would for
 * `timing`. An unknown variable throws (it would reach Prometheus as a literal `$`).
 */
export function panelQueries(timing: GrafanaTiming, dir: string = DASHBOARDS_DIR): PanelQuery[] {
  const variables = { ...dashboardTemplateValues(dir), ...grafanaIntervals(timing).variables };
  return loadDashboardQueries(dir).map((q) => ({ ...q, promql: expandVariables(q.expr, variables) }));
}

/** Alert names declared in the rule files (to check Prometheus loaded every one of them). */
export function declaredAlertNames(dir: string = RULES_DIR): string[] {
  return ruleFiles(dir).flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/^\s*-\s*alert:\s*(\S+)\s*$/gm)].map((m) => m[1]!),
  );
}

/** The rule files Prometheus should load, as absolute paths. */
export function ruleFiles(dir: string = RULES_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yml') || f.endsWith('.yaml'))
    .sort()
    .map((f) => path.join(dir, f));
}
