import type { PanelQuery } from './observability-queries.js';
import type { PrometheusProcess, PromSeries, QueryData } from './prometheus-process.js';

/** A time range to evaluate panels over, in seconds since epoch. */
export interface EvalRange {
  start: number;
  end: number;
  stepSeconds: number;
}

/** What one panel query returned. */
export interface PanelOutcome {
  query: PanelQuery;
  /** Prometheus' error when it refused the query (parse or evaluation error). */
  error?: string;
  /** Series with at least one finite value over the range. */
  seriesWithData: number;
  /** Whether any point over the range is a finite value other than 0. */
  moved: boolean;
  /** A finite value of the first such series, for the report. */
  sample?: number;
}

/** A finite number: Grafana draws nothing for NaN (e.g. a quantile or ratio of no observations). */
function finiteValues(series: PromSeries): number[] {
  const points = series.values ?? (series.value ? [series.value] : []);
  return points.map(([, v]) => Number(v)).filter((v) => Number.isFinite(v));
}

function seriesOf(data: QueryData): PromSeries[] {
  return data.resultType === 'matrix' || data.resultType === 'vector' ? (data.result as PromSeries[]) : [];
}

/**
 * Runs one panel query the way Grafana does: an instant query (it must be accepted) and the range
 * query a time-series panel draws from (it must yield at least one finite point).
 */
export async function evaluatePanel(
  prometheus: PrometheusProcess,
  query: PanelQuery,
  range: EvalRange,
): Promise<PanelOutcome> {
  const instant = await prometheus.query(query.promql, range.end);
  const refused = (error: string): PanelOutcome => ({ query, error, seriesWithData: 0, moved: false });
  if (!instant.ok) return refused(`${instant.errorType}: ${instant.error}`);
  const ranged = await prometheus.queryRange(query.promql, range);
  if (!ranged.ok) return refused(`${ranged.errorType}: ${ranged.error}`);
  const withData = seriesOf(ranged.data)
    .map(finiteValues)
    .filter((v) => v.length > 0);
  const moved = withData.some((values) => values.some((v) => v !== 0));
  const sample = withData.find((values) => values.some((v) => v !== 0))?.at(-1) ?? withData[0]?.at(-1);
  return { query, seriesWithData: withData.length, moved, ...(sample === undefined ? {} : { sample }) };
}

export async function evaluatePanels(
  prometheus: PrometheusProcess,
  queries: PanelQuery[],
  range: EvalRange,
): Promise<PanelOutcome[]> {
  const out: PanelOutcome[] = [];
  // One at a time: the machine is small and the report keeps the dashboard's order.
  for (const q of queries) out.push(await evaluatePanel(prometheus, q, range));
  return out;
}

/**
 * Rate-based queries (rates, ratios, quantiles) must also move: the workers pre-initialise their
 * counters at 0, so a rate panel returns a flat 0 line even for a metric nothing ever increments.
 * Gauges (queue depth, ages, up) may legitimately read 0 at every step.
 */
export const mustMove = (query: PanelQuery): boolean => /\b(rate|increase|irate)\(/.test(query.promql);

function problemOf(o: PanelOutcome, requireMovement: (q: PanelQuery) => boolean): string | undefined {
  const where = `panel "${o.query.panel}" [${o.query.refId}]`;
  if (o.error !== undefined) return `${where} is refused by Prometheus: ${o.error}`;
  if (o.seriesWithData === 0) return `${where} returned no data over the workload`;
  if (!o.moved && requireMovement(o.query)) {
    return `${where} stayed at 0 over the workload (nothing increments what it watches)`;
  }
  return undefined;
}

/**
 * One line per panel query that was refused, drew nothing, or (rate-based ones) stayed at 0;
 * empty when all are fine.
 */
export function panelProblems(
  outcomes: PanelOutcome[],
  requireMovement: (q: PanelQuery) => boolean = mustMove,
): string[] {
  return outcomes.flatMap((o) => {
    const problem = problemOf(o, requireMovement);
    return problem === undefined ? [] : [`${problem}\n    ${o.query.promql}`];
  });
}

/** What one alert expression did when evaluated by itself. */
export interface AlertOutcome {
  name: string;
  expr: string;
  error?: string;
  /** Series the expression returns now (an alert "would fire" for each, ignoring `for`). */
  firing: number;
}

/** Evaluates each alert's expression through /api/v1/query: it must be accepted. */
export async function evaluateAlerts(
  prometheus: PrometheusProcess,
  alerts: Array<{ name: string; query: string }>,
): Promise<AlertOutcome[]> {
  const out: AlertOutcome[] = [];
  for (const a of alerts) {
    const answer = await prometheus.query(a.query);
    out.push(
      answer.ok
        ? { name: a.name, expr: a.query, firing: seriesOf(answer.data).length }
        : { name: a.name, expr: a.query, error: `${answer.errorType}: ${answer.error}`, firing: 0 },
    );
  }
  return out;
}

/** A readable table of every panel's outcome, for the test log. */
export function panelReport(outcomes: PanelOutcome[]): string {
  return outcomes
    .map((o) => {
      const state =
        o.error !== undefined
          ? `ERROR ${o.error}`
          : o.seriesWithData === 0
            ? 'NO DATA'
            : `${o.seriesWithData} series, ${o.moved ? 'moved' : 'flat 0'}, last ${formatNumber(o.sample)}`;
      return `  ${`${o.query.panel} [${o.query.refId}]`.padEnd(64)} ${state}`;
    })
    .join('\n');
}

function formatNumber(n: number | undefined): string {
  if (n === undefined) return '-';
  return Math.abs(n) >= 1000 || (n !== 0 && Math.abs(n) < 0.01) ? n.toExponential(2) : n.toFixed(3);
}
