/**
 * The PromQL of the provisioned Grafana dashboards, for tests and checks: `promtool check rules`
 * parses them (infra/check.sh), the metrics-name test matches them against the code, and the
 * real-Prometheus test (test/e2e) can run them against live workers.
 *
 *   node infra/grafana/extract-queries.ts            # JSON list of {dashboard, panel, refId, expr}
 *   node infra/grafana/extract-queries.ts --as-rules # the same as a Prometheus rule file (one
 *                                                    # recording rule per query) for promtool
 *
 * Dependency-free on purpose (node:fs only, erasable TypeScript): it runs with plain `node`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface DashboardQuery {
  dashboard: string;
  panel: string;
  refId: string;
  /** The expression as written in the dashboard (Grafana variables unexpanded). */
  expr: string;
}

interface Panel {
  title?: string;
  type?: string;
  targets?: Array<{ refId?: string; expr?: string }>;
  panels?: Panel[];
}

export const DASHBOARDS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'dashboards');

/** Every PromQL target of a dashboard, rows' nested panels included. */
export function extractQueries(dashboard: { title?: string; panels?: Panel[] }): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  const walk = (panels: Panel[] | undefined) => {
    for (const panel of panels ?? []) {
      for (const target of panel.targets ?? []) {
        if (typeof target.expr === 'string' && target.expr.trim() !== '') {
          out.push({
            dashboard: dashboard.title ?? '',
            panel: panel.title ?? '',
            refId: target.refId ?? '',
            expr: target.expr,
          });
        }
      }
      walk(panel.panels);
    }
  };
  walk(dashboard.panels);
  return out;
}

/** The queries of every dashboard JSON in `dir`. */
export function loadDashboardQueries(dir: string = DASHBOARDS_DIR): DashboardQuery[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .flatMap((f) => extractQueries(JSON.parse(readFileSync(path.join(dir, f), 'utf8'))));
}

/** Values used in place of Grafana's variables so an expression becomes plain PromQL. */
export const DEFAULT_VARIABLES: Readonly<Record<string, string>> = {
  __rate_interval: '1m',
  __interval: '30s',
  __range: '1h',
  queue: 'uploads',
};

/** Replaces `$name` and `${name}`; an unknown variable throws rather than leaving `$` in the PromQL. */
export function expandVariables(expr: string, variables: Record<string, string> = DEFAULT_VARIABLES): string {
  return expr.replace(
    /\$\{(\w+)\}|\$(\w+)/g,
    (whole, braced: string | undefined, bare: string | undefined) => {
      const name = braced ?? bare ?? '';
      const value = variables[name];
      if (value === undefined) throw new Error(`unknown Grafana variable ${whole} in: ${expr}`);
      return value;
    },
  );
}

/** A Prometheus rule file with one recording rule per query, so `promtool check rules` parses them all. */
export function asRuleFile(queries: DashboardQuery[]): string {
  const rules = queries.map((q, i) => ({
    record: `dashboard:query_${i}`,
    expr: expandVariables(q.expr),
    labels: { panel: q.panel, ref_id: q.refId },
  }));
  // JSON is valid YAML: no YAML library needed.
  return JSON.stringify({ groups: [{ name: 'dashboard-queries', rules }] }, null, 2);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const queries = loadDashboardQueries();
  process.stdout.write(
    `${process.argv.includes('--as-rules') ? asRuleFile(queries) : JSON.stringify(queries, null, 2)}\n`,
  );
}
