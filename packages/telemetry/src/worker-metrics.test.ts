import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from './metric-labels.js';
import { createWorkerMetrics, JOB_DURATION_BUCKETS, PART_UPLOAD_DURATION_BUCKETS } from './worker-metrics.js';

/** Value of one series, read back through prom-client's own view of the registry. */
async function value(registry: Registry, name: string, labels: Record<string, string> = {}) {
  // Histogram samples (`_bucket`, `_sum`, `_count`) live under the histogram's own name.
  const base = name.replace(/_(bucket|sum|count)$/, '');
  const metric = registry.getSingleMetric(name) ?? registry.getSingleMetric(base);
  if (!metric) throw new Error(`${name} not registered`);
  const { type, values } = await metric.get();
  const sample = String(type) === 'histogram' ? (name === base ? `${base}_bucket` : name) : undefined;
  const match = values.find(
    (v) =>
      (sample === undefined || (v as { metricName?: string }).metricName === sample) &&
      Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want),
  );
  return match?.value;
}

async function seriesOf(registry: Registry, name: string) {
  const metric = registry.getSingleMetric(name);
  return (await metric!.get()).values.map((v) => v.labels as Record<string, string>);
}

describe('createWorkerMetrics', () => {
  it('counts bytes as each part is acknowledged, not at job end', async () => {
    const m = createWorkerMetrics(new Registry(), { defaultMetrics: false });
    const job = m.trackJob({ sourceType: 'url', mediaType: 'video' });
    const labels = { source_type: 'url', media_type: 'video' };
    expect(await value(m.registry, 'mediaferry_upload_bytes_total', labels)).toBe(0);
    job.events.onPartUploaded({ durationMs: 120, bytes: 8 * 1024 * 1024 });
    expect(await value(m.registry, 'mediaferry_upload_bytes_total', labels)).toBe(8 * 1024 * 1024);
    job.events.onPartUploaded({ durationMs: 80, bytes: 1024 });
    expect(await value(m.registry, 'mediaferry_upload_bytes_total', labels)).toBe(8 * 1024 * 1024 + 1024);
    expect(await value(m.registry, 'mediaferry_part_upload_duration_seconds', { le: '0.1' })).toBe(1);
    expect(await value(m.registry, 'mediaferry_part_upload_duration_seconds', { le: '0.25' })).toBe(2);
    job.sourceBytes(500);
    expect(await value(m.registry, 'mediaferry_source_bytes_total', { source_type: 'url' })).toBe(500);
  });

  it('tracks active jobs and records outcomes with bounded error codes', async () => {
    const m = createWorkerMetrics(new Registry(), { defaultMetrics: false });
    const a = m.trackJob({ sourceType: 'file', mediaType: 'audio' });
    const b = m.trackJob({ sourceType: 'file', mediaType: 'audio' });
    const c = m.trackJob({ sourceType: 'url' });
    expect(await value(m.registry, 'mediaferry_active_jobs')).toBe(3);

    a.finish({ status: 'succeeded', errorCode: 'NETWORK_ERROR', durationSeconds: 42 });
    a.finish({ status: 'succeeded' }); // a second finish of the same attempt is ignored
    b.finish({ status: 'failed', errorCode: 'source-not-found' });
    c.release();
    c.release();
    expect(await value(m.registry, 'mediaferry_active_jobs')).toBe(0);

    const jobs = 'mediaferry_jobs_total';
    expect(
      await value(m.registry, jobs, { status: 'succeeded', source_type: 'file', error_code: 'none' }),
    ).toBe(1);
    expect(
      await value(m.registry, jobs, {
        status: 'failed',
        source_type: 'file',
        error_code: 'SOURCE_NOT_FOUND',
      }),
    ).toBe(1);
    expect(await value(m.registry, 'mediaferry_job_duration_seconds_count', { source_type: 'file' })).toBe(2);
    expect(
      await value(m.registry, 'mediaferry_job_duration_seconds_sum', { source_type: 'file' }),
    ).toBeGreaterThan(42);
    expect(
      await value(m.registry, 'mediaferry_job_duration_seconds', { source_type: 'file', le: '60' }),
    ).toBe(2);
  });

  it('never lets ids, URLs or paths into label values', async () => {
    const m = createWorkerMetrics(new Registry(), { defaultMetrics: false });
    for (let i = 0; i < 500; i++) {
      m.jobFinished(
        { sourceType: `job_${i}`, mediaType: `/srv/media/${i}.mp4` },
        { status: 'failed', errorCode: `https://evil.example/${i}?token=x`, durationSeconds: 1 },
      );
      m.uploadedBytes({ sourceType: `https://h/${i}`, mediaType: 'video' }, 10);
      m.partRetried(`ECONNRESET while PUT part ${i}`);
      m.jobFinished({ sourceType: 'file' }, { status: `weird-${i}` as 'failed', durationSeconds: 1 });
    }
    m.jobFinished({ sourceType: 'url' }, { status: 'canceled', durationSeconds: 3 });
    m.partRetried('throttled');

    const allowed = new Set<string>(ERROR_CODES);
    for (const s of await seriesOf(m.registry, 'mediaferry_jobs_total')) {
      expect(['file', 'url', 'other']).toContain(s['source_type']);
      expect(['succeeded', 'failed', 'canceled']).toContain(s['status']);
      expect(allowed.has(s['error_code']!)).toBe(true);
    }
    expect(
      await value(m.registry, 'mediaferry_jobs_total', { source_type: 'other', error_code: 'OTHER' }),
    ).toBe(500);
    expect(await value(m.registry, 'mediaferry_jobs_total', { status: 'canceled', source_type: 'url' })).toBe(
      1,
    );
    expect(
      await value(m.registry, 'mediaferry_upload_bytes_total', { source_type: 'other', media_type: 'video' }),
    ).toBe(5000);
    expect(await value(m.registry, 'mediaferry_part_retries_total', { reason: 'OTHER' })).toBe(500);
    expect(await value(m.registry, 'mediaferry_part_retries_total', { reason: 'THROTTLED' })).toBe(1);
    // Bounded: 3 statuses × 3 source types × |codes|, whatever was thrown at it.
    expect((await seriesOf(m.registry, 'mediaferry_jobs_total')).length).toBeLessThanOrEqual(
      3 * 3 * ERROR_CODES.length,
    );
    for (const s of await seriesOf(m.registry, 'mediaferry_part_retries_total')) {
      expect(allowed.has(s['reason']!)).toBe(true);
    }
  });

  it('counts resumes, skipped bytes and credential refreshes; ignores nonsense numbers', async () => {
    const m = createWorkerMetrics(new Registry(), { defaultMetrics: false });
    const events = m.engineEvents({ sourceType: 'file', mediaType: 'image' });
    events.onResume({ skippedBytes: 3_000_000 });
    events.onResume({ skippedBytes: 0 });
    events.onPartRetry({ reason: 'CREDENTIALS_EXPIRED' });
    m.credentialRefreshed();
    expect(() => events.onPartUploaded({ durationMs: Number.NaN, bytes: -5 })).not.toThrow();
    m.sourceBytes('file', Number.POSITIVE_INFINITY);
    expect(await value(m.registry, 'mediaferry_resumes_total')).toBe(2);
    expect(await value(m.registry, 'mediaferry_resume_skipped_bytes_total')).toBe(3_000_000);
    expect(await value(m.registry, 'mediaferry_credential_refreshes_total')).toBe(1);
    expect(await value(m.registry, 'mediaferry_part_retries_total', { reason: 'CREDENTIALS_EXPIRED' })).toBe(
      1,
    );
    expect(await value(m.registry, 'mediaferry_part_upload_duration_seconds_count')).toBe(0);
    expect(await value(m.registry, 'mediaferry_source_bytes_total', { source_type: 'file' })).toBe(0);
    expect(await value(m.registry, 'mediaferry_worker_up')).toBe(1);
  });

  it('uses buckets that span part uploads and multi-hour jobs', () => {
    expect(JOB_DURATION_BUCKETS[0]).toBeLessThanOrEqual(1);
    expect(JOB_DURATION_BUCKETS.at(-1)).toBeGreaterThanOrEqual(8 * 3600);
    expect(PART_UPLOAD_DURATION_BUCKETS[0]).toBeLessThanOrEqual(0.01);
    expect(PART_UPLOAD_DURATION_BUCKETS.at(-1)).toBeGreaterThanOrEqual(300);
  });

  it('exposes the contract names plus standard process_/nodejs_ metrics, one registry per call', async () => {
    const a = createWorkerMetrics();
    const b = createWorkerMetrics(); // a second worker in the same process must not collide
    const text = await a.registry.metrics();
    for (const name of [
      'mediaferry_upload_bytes_total',
      'mediaferry_source_bytes_total',
      'mediaferry_jobs_total',
      'mediaferry_job_duration_seconds_bucket',
      'mediaferry_part_upload_duration_seconds_bucket',
      'mediaferry_part_retries_total',
      'mediaferry_resumes_total',
      'mediaferry_resume_skipped_bytes_total',
      'mediaferry_credential_refreshes_total',
      'mediaferry_active_jobs',
      'mediaferry_worker_up',
      'process_cpu_user_seconds_total',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect(text, name).toMatch(new RegExp(`^${name}[ {]`, 'm'));
    }
    expect(text).not.toMatch(/^mediaferry_process_/m);
    expect(text).toMatch(/^mediaferry_worker_buffer_bytes\{state="in_use"\} 0$/m);
    expect(await b.registry.metrics()).toContain('mediaferry_worker_up 1');
  });

  it('reports the memory budget at every scrape', async () => {
    const m = createWorkerMetrics(new Registry(), { defaultMetrics: false });
    let usage = { inUseBytes: 3 * 1024, freeBytes: 1024, limitBytes: 64 * 1024 };
    m.watchBuffers(() => usage);
    let text = await m.registry.metrics();
    expect(text).toMatch(/^mediaferry_worker_buffer_bytes\{state="in_use"\} 3072$/m);
    expect(text).toMatch(/^mediaferry_worker_buffer_bytes\{state="free"\} 1024$/m);
    expect(text).toMatch(/^mediaferry_worker_buffer_budget_bytes 65536$/m);
    usage = { ...usage, inUseBytes: 0 };
    text = await m.registry.metrics();
    expect(text).toMatch(/^mediaferry_worker_buffer_bytes\{state="in_use"\} 0$/m);
  });
});
