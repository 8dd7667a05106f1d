import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '@mediaferry/config';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { INFRA, listFiles, readText, readYaml, readYamlDocs } from '../test-support/infra-files.js';

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML/JSON, walked freely by the assertions
type Obj = Record<string, any>;

/** kubernetes-models' package for each API group (core, KEDA, Prometheus Operator). */
function modelModule(apiVersion: string): string {
  if (apiVersion.startsWith('keda.sh/')) return `@kubernetes-models/keda/${apiVersion}`;
  if (apiVersion.startsWith('monitoring.coreos.com/'))
    return `@kubernetes-models/prometheus-operator/${apiVersion}`;
  return `kubernetes-models/${apiVersion}`;
}

/** Validates one object against the Kubernetes (or CRD) OpenAPI schema; throws with the schema errors. */
async function validateObject(obj: Obj): Promise<void> {
  const mod = (await import(modelModule(String(obj['apiVersion'])))) as Record<string, unknown>;
  const Model = mod[String(obj['kind'])] as (new (data: Obj) => { validate(): void }) | undefined;
  if (!Model) throw new Error(`no schema for ${obj['apiVersion']} ${obj['kind']}`);
  new Model(obj).validate();
}

const manifestFiles = listFiles('k8s', '.yaml').filter((f) => f !== 'kustomization.yaml');
const objects: Obj[] = manifestFiles.flatMap((f) => readYamlDocs('k8s', f).map((o) => ({ ...o, __file: f })));
const find = (kind: string, name: string): Obj => {
  const o = objects.find((x) => x['kind'] === kind && x['metadata']?.name === name);
  if (!o) throw new Error(`${kind}/${name} not found in infra/k8s`);
  return o;
};
const strip = ({ __file, ...o }: Obj) => o;

describe('infra/k8s manifests', () => {
  it('are valid against the Kubernetes, KEDA and Prometheus Operator schemas', async () => {
    expect(objects.length).toBeGreaterThanOrEqual(12);
    for (const o of objects) {
      await expect(
        validateObject(strip(o)),
        `${o['__file']}: ${o['kind']}/${o['metadata']?.name}`,
      ).resolves.toBe(undefined);
    }
  });

  it('the schema check does catch mistakes', async () => {
    const broken = structuredClone(strip(find('Deployment', 'mediaferry-worker')));
    broken['spec'].template.spec.terminationGracePeriodSeconds = 'forty';
    await expect(validateObject(broken)).rejects.toThrow();
    const badScaled = structuredClone(strip(find('ScaledObject', 'mediaferry-worker')));
    delete badScaled['spec'].scaleTargetRef;
    await expect(validateObject(badScaled)).rejects.toThrow();
  });

  it('kustomization lists every manifest', () => {
    const k = readYaml('k8s', 'kustomization.yaml') as Obj;
    expect([...k['resources']].sort()).toEqual(manifestFiles);
  });

  it('deploys api, worker and metrics with Services, probes on /healthz and /readyz, non-root', () => {
    for (const name of ['mediaferry-api', 'mediaferry-worker', 'mediaferry-metrics']) {
      const d = find('Deployment', name);
      const pod = d['spec'].template;
      expect(d['spec'].selector.matchLabels).toEqual({ 'app.kubernetes.io/name': name });
      expect(pod.metadata.labels).toMatchObject(d['spec'].selector.matchLabels);
      expect(pod.spec.securityContext.runAsNonRoot).toBe(true);
      const [c] = pod.spec.containers;
      const portNames = c.ports.map((p: Obj) => p.name);
      expect(c.livenessProbe.httpGet.path, name).toBe('/healthz');
      expect(c.readinessProbe.httpGet.path, name).toBe('/readyz');
      expect(portNames).toContain(c.livenessProbe.httpGet.port);
      expect(portNames).toContain(c.readinessProbe.httpGet.port);
      expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
      expect(c.envFrom[0].configMapRef.name).toBe('mediaferry-config');

      const svc = find('Service', name);
      expect(svc['spec'].selector).toEqual(d['spec'].selector.matchLabels);
      for (const p of svc['spec'].ports) expect(portNames).toContain(p.targetPort);
    }
  });

  it('gives the worker a grace period that fits the SIGTERM hand-off', () => {
    const cm = find('ConfigMap', 'mediaferry-config');
    const graceMs = Number(cm['data'].WORKER_SHUTDOWN_GRACE_MS);
    const pod = find('Deployment', 'mediaferry-worker')['spec'].template.spec;
    expect(pod.terminationGracePeriodSeconds).toBe(40);
    // At least 10 s beyond the in-flight grace for checkpointing and handing jobs back.
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThanOrEqual(graceMs + 10_000);
    expect(pod.containers[0].ports[0].containerPort).toBe(Number(cm['data'].WORKER_METRICS_PORT));
  });

  it('has a ConfigMap + Secret that @mediaferry/config accepts', () => {
    const cm = find('ConfigMap', 'mediaferry-config');
    const secret = find('Secret', 'mediaferry-secrets');
    const config = loadConfig({ ...cm['data'], ...secret['stringData'] });
    expect(config.worker.shutdownGraceMs).toBe(25_000);
    expect(config.apiTokens.size).toBeGreaterThan(0);
    const containerPort = (name: string) =>
      find('Deployment', name)['spec'].template.spec.containers[0].ports[0].containerPort;
    expect(containerPort('mediaferry-api')).toBe(config.apiPort);
    expect(containerPort('mediaferry-metrics')).toBe(config.metricsPort);
    // Only the worker and the API get the secrets; the metrics service needs none.
    const metricsEnv = find('Deployment', 'mediaferry-metrics')['spec'].template.spec.containers[0].envFrom;
    expect(metricsEnv.some((e: Obj) => e.secretRef)).toBe(false);
  });

  it('scales workers with KEDA on the uploads queue depth, one worker per WORKER_CONCURRENCY jobs', () => {
    const so = find('ScaledObject', 'mediaferry-worker');
    expect(so['spec'].scaleTargetRef.name).toBe('mediaferry-worker');
    const [trigger] = so['spec'].triggers;
    expect(trigger.type).toBe('prometheus');
    expect(trigger.metadata.query).toContain('mediaferry_queue_jobs{queue="uploads"');
    expect(trigger.metadata.query).toContain('waiting');
    expect(trigger.metadata.threshold).toBe(
      find('ConfigMap', 'mediaferry-config')['data'].WORKER_CONCURRENCY,
    );
    expect(so['spec'].minReplicaCount).toBeGreaterThanOrEqual(1);
  });

  it('scrapes workers with a PodMonitor and the metrics service with a ServiceMonitor', () => {
    const worker = find('Deployment', 'mediaferry-worker')['spec'].template;
    const pm = find('PodMonitor', 'mediaferry-worker');
    expect(worker.metadata.labels).toMatchObject(pm['spec'].selector.matchLabels);
    expect(worker.spec.containers[0].ports.map((p: Obj) => p.name)).toContain(
      pm['spec'].podMetricsEndpoints[0].port,
    );
    const svc = find('Service', 'mediaferry-metrics');
    const sm = find('ServiceMonitor', 'mediaferry-metrics');
    expect(svc['metadata'].labels).toMatchObject(sm['spec'].selector.matchLabels);
    expect(svc['spec'].ports.map((p: Obj) => p.name)).toContain(sm['spec'].endpoints[0].port);
  });

  it('ships the same alert rules as infra/prometheus/rules (MEDIAFERRY_UPDATE_INFRA=1 regenerates)', () => {
    const groups = listFiles('prometheus/rules', '.yml').flatMap(
      (f) => (readYaml('prometheus', 'rules', f) as { groups: Obj[] }).groups,
    );
    const expected = {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: {
        name: 'mediaferry',
        labels: { 'app.kubernetes.io/name': 'mediaferry', role: 'alert-rules' },
      },
      spec: { groups },
    };
    if (process.env['MEDIAFERRY_UPDATE_INFRA'] === '1') {
      const header =
        '# GENERATED from infra/prometheus/rules/*.yml by apps/metrics/src/infra/k8s.test.ts\n' +
        '# (MEDIAFERRY_UPDATE_INFRA=1 pnpm -F @mediaferry/metrics test). Edit the rules there, not here.\n';
      writeFileSync(
        path.join(INFRA, 'k8s', 'prometheus-rule.yaml'),
        header + stringify(expected, { lineWidth: 0 }),
      );
    }
    expect(readText('k8s', 'prometheus-rule.yaml')).toMatch(/^# GENERATED/);
    expect(readYamlDocs('k8s', 'prometheus-rule.yaml')).toEqual([expected]);
  });
});
