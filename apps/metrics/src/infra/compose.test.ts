import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '@mediaferry/config';
import { describe, expect, it } from 'vitest';
import { INFRA, readText, readYaml } from '../test-support/infra-files.js';

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML/JSON, walked freely by the assertions
type Obj = Record<string, any>;

/** Compose's `${VAR:-default}` interpolation with an empty environment. */
const interpolate = (value: string) =>
  value.replace(/\$\{(\w+)(?::?-([^}]*))?\}/g, (_, _name, def) => def ?? '');

const compose = readYaml('compose', 'docker-compose.yml') as Obj;
const services = compose['services'] as Record<string, Obj>;
const dockerfile = readText('docker', 'Dockerfile');
const APPS = ['api', 'worker', 'metrics', 'emulator'];

describe('infra/compose/docker-compose.yml', () => {
  it('runs Redis (AOF on), the emulator, api, worker, metrics, Prometheus and Grafana', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['api', 'emulator', 'grafana', 'metrics', 'prometheus', 'redis', 'worker'].sort(),
    );
    const redisCmd = services['redis']!['command'].join(' ');
    expect(redisCmd).toContain('--appendonly yes');
    expect(redisCmd).toContain('--maxmemory-policy noeviction');
  });

  it('builds each app from the shared Dockerfile target of the same name', () => {
    for (const app of APPS) {
      const build = services[app]!['build'];
      expect(build.dockerfile).toBe('infra/docker/Dockerfile');
      expect(build.target).toBe(app);
      expect(path.resolve(INFRA, 'compose', build.context)).toBe(path.resolve(INFRA, '..'));
      expect(dockerfile).toMatch(new RegExp(`^FROM runtime AS ${app}$`, 'm'));
    }
  });

  it('lets the worker scale: no host port, stop grace that fits the SIGTERM hand-off', () => {
    const worker = services['worker']!;
    expect(worker['ports']).toBeUndefined();
    expect(worker['container_name']).toBeUndefined();
    expect(worker['expose']).toContain('9464');
    expect(worker['stop_grace_period']).toBe('40s');
    expect(Number(worker['environment'].WORKER_SHUTDOWN_GRACE_MS)).toBeLessThanOrEqual(30_000);
  });

  it('gives every app an environment that @mediaferry/config accepts', () => {
    for (const app of APPS) {
      const env = Object.fromEntries(
        Object.entries(services[app]!['environment'] as Record<string, string>).map(([k, v]) => [
          k,
          interpolate(v),
        ]),
      );
      const config = loadConfig(env);
      expect(config.redisUrl).toBe('redis://redis:6379');
      expect(config.vod.endpoint).toBe('http://emulator:9000');
    }
  });

  it('mounts the Prometheus config and rules, and Grafana provisioning and dashboards, from infra/', () => {
    const prom = services['prometheus']!;
    expect(prom['volumes']).toContain('../prometheus:/etc/prometheus:ro');
    expect(prom['command']).toContain('--config.file=/etc/prometheus/prometheus.yml');
    const grafana = services['grafana']!;
    expect(grafana['volumes']).toContain('../grafana/provisioning:/etc/grafana/provisioning:ro');
    expect(grafana['volumes']).toContain('../grafana/dashboards:/var/lib/grafana/dashboards:ro');
    for (const svc of [prom, grafana]) {
      for (const v of svc['volumes'] as string[]) {
        const [src] = v.split(':');
        if (src!.startsWith('.')) expect(existsSync(path.join(INFRA, 'compose', src!)), v).toBe(true);
      }
    }
    const providers = (readYaml('grafana', 'provisioning', 'dashboards', 'mediaferry.yml') as Obj)[
      'providers'
    ];
    expect(providers[0].options.path).toBe('/var/lib/grafana/dashboards');
    const ds = (readYaml('grafana', 'provisioning', 'datasources', 'prometheus.yml') as Obj)['datasources'];
    expect(ds[0].url).toBe('http://prometheus:9090');
    expect(ds[0].type).toBe('prometheus');
  });

  it('matches the Prometheus scrape config: DNS discovery of workers, static metrics service', () => {
    const prom = readYaml('prometheus', 'prometheus.yml') as Obj;
    const jobs = Object.fromEntries((prom['scrape_configs'] as Obj[]).map((j) => [j['job_name'], j]));
    const dns = jobs['mediaferry-worker']!['dns_sd_configs'][0];
    expect(dns.names).toEqual(['worker']);
    expect(dns.port).toBe(Number(services['worker']!['environment'].WORKER_METRICS_PORT));
    expect(jobs['mediaferry-metrics']!['static_configs'][0].targets).toEqual([
      `metrics:${services['metrics']!['environment'].METRICS_PORT}`,
    ]);
  });
});

describe('infra/docker/Dockerfile', () => {
  it('builds with the frozen lockfile in a build stage and runs as a non-root user', () => {
    expect(dockerfile).toMatch(/^FROM \S+ AS build$/m);
    expect(dockerfile).toContain('pnpm install --frozen-lockfile');
    expect(dockerfile).toContain('pnpm build');
    expect(dockerfile).toMatch(/^USER node$/m);
    for (const app of [...APPS, 'cli']) expect(dockerfile).toContain(`"apps/${app}/dist/main.js"`);
  });
});
