import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { freePort } from '@mediaferry/testkit';
import { appEntry, BenchProcess, waitHttpOk } from './app-process.ts';

export interface BenchService {
  name: string;
  token: string;
}

/**
 * `count` calling services with random tokens. The API limits each service to 600 requests a minute
 * (`rateLimitMax`, not settable from the environment), so load is spread over enough services that
 * the limiter is exercised (one Redis script per request) but never refuses a benchmark request.
 */
export function makeServices(count: number): BenchService[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `svc-${String(i).padStart(3, '0')}`,
    token: `tok-${i}-${randomBytes(12).toString('hex')}`,
  }));
}

export interface StartApiOptions {
  redisUrl: string;
  prefix: string;
  services: BenchService[];
  fileRoot: string;
  /** Folder for the log file. */
  workDir: string;
  /** @defaultValue 'info' (production's level: one line per request) */
  logLevel?: string;
  /** Open the inspector on this port (to CPU-profile a phase). @defaultValue closed */
  inspectPort?: number;
  env?: Record<string, string>;
  /** Script to run instead of `apps/api/dist/main.js` (the what-if experiment). @defaultValue the API */
  entry?: string;
}

export interface ApiHandle {
  process: BenchProcess;
  url: string;
  port: number;
  env: Record<string, string>;
  inspectPort: number | undefined;
}

/** `node apps/api/dist/main.js` on a free port, configured by the environment only; waits for /readyz. */
export async function startApiProcess(o: StartApiOptions): Promise<ApiHandle> {
  const port = await freePort();
  const env: Record<string, string> = {
    REDIS_URL: o.redisUrl,
    MEDIAFERRY_REDIS_PREFIX: o.prefix,
    MEDIAFERRY_API_TOKENS: o.services.map((s) => `${s.name}:${s.token}`).join(','),
    MEDIAFERRY_FILE_ROOTS: o.fileRoot,
    API_PORT: String(port),
    BIND_HOST: '127.0.0.1',
    LOG_LEVEL: o.logLevel ?? 'info',
    ...o.env,
  };
  const proc = new BenchProcess('api', o.entry ?? appEntry('api'), {
    env,
    logFile: path.join(o.workDir, 'api.log'),
    nodeArgs: o.inspectPort ? [`--inspect=127.0.0.1:${o.inspectPort}`] : [],
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitHttpOk(`${url}/readyz`, proc);
  } catch (err) {
    await proc.stop(2_000);
    throw err;
  }
  return { process: proc, url, port, env, inspectPort: o.inspectPort };
}
