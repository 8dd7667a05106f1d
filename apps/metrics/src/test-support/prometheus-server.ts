import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort, makeTempDir, waitForPort } from '@mediaferry/testkit';

export interface PrometheusServerOptions {
  /** Scrape jobs: name → `host:port` targets. */
  jobs: Record<string, string[]>;
  /** Rule files to load (absolute paths). */
  ruleFiles?: string[];
  /** Scrape and rule evaluation interval. @defaultValue '1s' */
  interval?: string;
  /** @defaultValue `prometheus` from PATH */
  binary?: string;
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PrometheusServer {
  readonly url: string;
  /** Instant query; throws with Prometheus' error text when the query is rejected. */
  query(expr: string): Promise<PromSample[]>;
  /** `GET /api/v1/<path>` → `data`. */
  api<T = unknown>(apiPath: string): Promise<T>;
  stop(): Promise<void>;
}

/** Whether a real Prometheus binary is installed (Debian: `apt-get install prometheus`). */
export function hasPrometheus(binary = 'prometheus'): boolean {
  return spawnSync(binary, ['--version']).status === 0;
}

/** A real Prometheus on a free port with its own data dir, scraping the given targets. */
export async function startPrometheus(options: PrometheusServerOptions): Promise<PrometheusServer> {
  const dir = await makeTempDir('mf-prom-');
  const port = await freePort();
  const interval = options.interval ?? '1s';
  // JSON is valid YAML.
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
    rule_files: options.ruleFiles ?? [],
    scrape_configs: Object.entries(options.jobs).map(([job, targets]) => ({
      job_name: job,
      static_configs: [{ targets }],
    })),
  };
  const configFile = path.join(dir.path, 'prometheus.yml');
  await writeFile(configFile, JSON.stringify(config));
  let stderr = '';
  const child: ChildProcess = spawn(
    options.binary ?? 'prometheus',
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(dir.path, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr?.on('data', (d) => {
    stderr = (stderr + String(d)).slice(-4000);
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`prometheus exited (${code}): ${stderr}`))),
  );
  exited.catch(() => {});
  const url = `http://127.0.0.1:${port}`;
  const api = async <T>(apiPath: string): Promise<T> => {
    const res = await fetch(`${url}/api/v1/${apiPath}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${apiPath}: ${body.error}`);
    return body.data;
  };
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        await new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        });
      }
      await dir.remove();
    })();
    return stopped;
  };
  try {
    await Promise.race([waitForPort(port), exited]);
    // Ready = rules loaded and the TSDB open.
    for (let i = 0; ; i++) {
      const res = await fetch(`${url}/-/ready`).catch(() => undefined);
      if (res?.ok) break;
      if (i > 200) throw new Error(`prometheus not ready: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    api,
    query: async (expr) =>
      (await api<{ result: PromSample[] }>(`query?query=${encodeURIComponent(expr)}`)).result,
    stop,
  };
}
