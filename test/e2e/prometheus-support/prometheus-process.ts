import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort, makeTempDir, type TempDir } from '@mediaferry/testkit';
import { pollUntil } from '../support/waits.js';

export interface PrometheusOptions {
  /** Scrape jobs: job name → `host:port` targets. Change them later with `setTargets`. */
  jobs: Record<string, string[]>;
  /** Rule files to load (absolute paths); Prometheus refuses to start if one does not parse. @defaultValue [] */
  ruleFiles?: string[];
  /** Scrape and rule-evaluation interval. @defaultValue '1s' */
  interval?: string;
  /** @defaultValue 'prometheus' (from PATH; Debian package `prometheus`) */
  binary?: string;
  /** How long to wait for `/-/ready`. @defaultValue 60_000 */
  startTimeoutMs?: number;
}

/** One series of an instant (`value`) or range (`values`) query. */
export interface PromSeries {
  metric: Record<string, string>;
  value?: [number, string];
  values?: Array<[number, string]>;
}

/** An HTTP API answer as Prometheus sent it: `ok` is `status === "success"`. */
export type PromAnswer<T> = { ok: true; data: T } | { ok: false; errorType: string; error: string };

export interface QueryData {
  resultType: 'vector' | 'matrix' | 'scalar' | 'string';
  result: PromSeries[] | [number, string];
}

/** A rule as `/api/v1/rules` lists it. */
export interface PromRule {
  name: string;
  query: string;
  type: 'alerting' | 'recording';
  health: 'ok' | 'err' | 'unknown';
  lastError?: string;
}

/** Whether a Prometheus binary is installed. */
export function hasPrometheus(binary = 'prometheus'): boolean {
  return spawnSync(binary, ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * A real Prometheus on a free loopback port with its own config and TSDB in a temp dir. Targets are
 * file-based service discovery, so workers started later can be added without a restart.
 */
export class PrometheusProcess {
  readonly #dir: TempDir;
  readonly #child: ChildProcess;
  readonly #exited: Promise<number | null>;
  #stderr = '';
  #stopping: Promise<void> | undefined;

  private constructor(
    dir: TempDir,
    child: ChildProcess,
    readonly url: string,
  ) {
    this.#dir = dir;
    this.#child = child;
    child.stderr?.on('data', (d: Buffer) => {
      this.#stderr = (this.#stderr + d.toString()).slice(-8000);
    });
    this.#exited = new Promise((resolve) => {
      // 'close', not 'exit': stderr is drained by then, so an error message is complete.
      child.once('close', (code) => resolve(code));
      child.once('error', () => resolve(-1));
    });
  }

  static async start(o: PrometheusOptions): Promise<PrometheusProcess> {
    const dir = await makeTempDir('mf-e2e-prometheus-');
    const interval = o.interval ?? '1s';
    for (const [job, targets] of Object.entries(o.jobs)) await writeTargets(dir.path, job, targets);
    // JSON is valid YAML.
    const config = {
      global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
      rule_files: o.ruleFiles ?? [],
      scrape_configs: Object.keys(o.jobs).map((job) => ({
        job_name: job,
        // Re-read on change (inotify) and every second as a fallback.
        file_sd_configs: [{ files: [targetsFile(dir.path, job)], refresh_interval: '1s' }],
      })),
    };
    const configFile = path.join(dir.path, 'prometheus.yml');
    await writeFile(configFile, JSON.stringify(config, null, 2));
    const port = await freePort();
    const child = spawn(
      o.binary ?? 'prometheus',
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${path.join(dir.path, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const prometheus = new PrometheusProcess(dir, child, `http://127.0.0.1:${port}`);
    const startup = new AbortController();
    try {
      // An exit (e.g. a rule file that does not parse) fails at once, with Prometheus' own words.
      const exited = prometheus.#exited.then((code) => {
        throw new Error(`prometheus exited (code ${code}) before it was ready:\n${prometheus.#stderr}`);
      });
      const ready = pollUntil(
        'prometheus /-/ready',
        async () => {
          const res = await fetch(`${prometheus.url}/-/ready`, { signal: AbortSignal.timeout(2_000) });
          await res.arrayBuffer();
          return res.ok ? true : undefined;
        },
        { timeoutMs: o.startTimeoutMs ?? 60_000, intervalMs: 100, signal: startup.signal },
      );
      // The loser of the race settles later (abort, or the exit at stop()): nobody awaits it.
      ready.catch(() => {});
      exited.catch(() => {});
      await Promise.race([ready, exited]).finally(() => startup.abort());
    } catch (err) {
      await prometheus.stop();
      throw err;
    }
    return prometheus;
  }

  /** Prometheus' own log (warnings and errors), last few kB. */
  get log(): string {
    return this.#stderr;
  }

  /** Replaces a job's targets (atomically: Prometheus never reads a half-written file). */
  async setTargets(job: string, targets: string[]): Promise<void> {
    await writeTargets(this.#dir.path, job, targets);
  }

  /** `GET /api/v1/<endpoint>?<params>`; a refused query comes back as `{ok: false, error}`, not a throw. */
  async api<T>(endpoint: string, params: Record<string, string> = {}): Promise<PromAnswer<T>> {
    const qs = new URLSearchParams(params).toString();
    const res = await fetch(`${this.url}/api/v1/${endpoint}${qs ? `?${qs}` : ''}`, {
      signal: AbortSignal.timeout(15_000),
    });
    const body = (await res.json()) as { status: string; data: T; errorType?: string; error?: string };
    if (body.status === 'success') return { ok: true, data: body.data };
    return { ok: false, errorType: body.errorType ?? `http ${res.status}`, error: body.error ?? '' };
  }

  /** Instant query at `time` (seconds since epoch; default now). */
  query(expr: string, time?: number): Promise<PromAnswer<QueryData>> {
    return this.api('query', { query: expr, ...(time === undefined ? {} : { time: String(time) }) });
  }

  /** Range query, as Grafana runs a time-series panel's target. Times in seconds since epoch. */
  queryRange(
    expr: string,
    range: { start: number; end: number; stepSeconds: number },
  ): Promise<PromAnswer<QueryData>> {
    return this.api('query_range', {
      query: expr,
      start: String(range.start),
      end: String(range.end),
      step: String(range.stepSeconds),
    });
  }

  /** The instant vector of `expr`; throws if Prometheus refuses it. */
  async vector(expr: string): Promise<PromSeries[]> {
    const answer = await this.query(expr);
    if (!answer.ok) throw new Error(`prometheus refused ${expr}: ${answer.error}`);
    return answer.data.resultType === 'vector' ? (answer.data.result as PromSeries[]) : [];
  }

  /** Every loaded rule (alerting and recording), with its health after the last evaluation. */
  async rules(): Promise<PromRule[]> {
    const answer = await this.api<{ groups: Array<{ rules: PromRule[] }> }>('rules');
    if (!answer.ok) throw new Error(`prometheus /api/v1/rules: ${answer.error}`);
    return answer.data.groups.flatMap((g) => g.rules);
  }

  /** SIGTERM (SIGKILL after 10 s), then removes the config and TSDB. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      if (this.#child.exitCode === null && this.#child.signalCode === null) {
        this.#child.kill('SIGTERM');
        const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
        await this.#exited;
        clearTimeout(timer);
      }
      await this.#dir.remove().catch(() => undefined);
    })();
    return this.#stopping;
  }
}

function targetsFile(dir: string, job: string): string {
  return path.join(dir, `targets-${job}.json`);
}

async function writeTargets(dir: string, job: string, targets: string[]): Promise<void> {
  const file = targetsFile(dir, job);
  await writeFile(`${file}.tmp`, JSON.stringify([{ targets, labels: {} }]));
  await rename(`${file}.tmp`, file);
}
