import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export type HealthCheck = () => Promise<boolean> | boolean;

export interface MetricsServerOptions {
  /** 0 picks a free port (see `port` on the result). */
  port: number;
  /** @defaultValue '0.0.0.0' */
  host?: string;
  registry: Registry;
  /** Liveness for `/healthz`: false or a throw answers 503. @defaultValue always healthy */
  health?: HealthCheck;
  /** Readiness for `/readyz`. @defaultValue same as `health` */
  ready?: HealthCheck;
  /** A check slower than this counts as failed. @defaultValue 2000 */
  checkTimeoutMs?: number;
}

export interface MetricsServer {
  readonly port: number;
  readonly url: string;
  /** Stops listening and drops open connections. Safe to call twice. */
  close(): Promise<void>;
}

async function runCheck(check: HealthCheck | undefined, timeoutMs: number): Promise<boolean> {
  if (!check) return true;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      Promise.resolve().then(check),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A tiny node:http server for Prometheus (`GET /metrics`) and probes (`GET /healthz`, `/readyz`).
 * Used by the worker (WORKER_METRICS_PORT) and the metrics service (METRICS_PORT).
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const timeoutMs = options.checkTimeoutMs ?? 2000;
  const probe = async (res: http.ServerResponse, check: HealthCheck | undefined, head: boolean) => {
    const ok = await runCheck(check, timeoutMs);
    res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(head ? undefined : JSON.stringify({ status: ok ? 'ok' : 'unavailable' }));
  };

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const handle = async () => {
      switch (path) {
        case '/metrics': {
          const body = await options.registry.metrics();
          res.writeHead(200, { 'content-type': options.registry.contentType, 'cache-control': 'no-store' });
          res.end(head ? undefined : body);
          return;
        }
        case '/healthz':
          return probe(res, options.health, head);
        case '/readyz':
          return probe(res, options.ready ?? options.health, head);
        default:
          res.writeHead(404, { 'content-type': 'text/plain' }).end(head ? undefined : 'not found\n');
      }
    };
    handle().catch((err: unknown) => {
      // A failing collector must not take the endpoint down; the scrape shows the error instead.
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(head ? undefined : `metrics collection failed: ${err instanceof Error ? err.message : err}\n`);
    });
  });
  server.keepAliveTimeout = 65_000; // longer than Prometheus' scrape interval: connections are reused

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host ?? '0.0.0.0';
  let closing: Promise<void> | undefined;
  return {
    port,
    url: `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
