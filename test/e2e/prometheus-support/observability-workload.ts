import { randomBytes } from 'node:crypto';
import type { JobSpecInput, JobView } from '@mediaferry/client';
import OSS from 'ali-oss';
import { startInterruptibleJobs } from '../support/interrupted-upload.js';
import { waitForTerminal } from '../support/job-waits.js';
import { makeRandomFile, mib } from '../support/media-files.js';
import type { SourceServer } from '../support/source-server.js';
import type { System, WorkerHandle } from '../support/system.js';
import { pollUntil } from '../support/waits.js';
import type { PrometheusProcess } from './prometheus-process.js';

/** Prometheus' scrape-job name for workers (as in infra/prometheus/prometheus.yml). */
export const WORKER_JOB = 'mediaferry-worker';

/** `host:port` of a worker's metrics endpoint, as a scrape target. */
export const targetOf = (w: WorkerHandle) => new URL(w.metricsUrl).host;

export interface WorkloadResult {
  /** Jobs expected to succeed, ended. */
  succeeded: JobView[];
  /** Jobs expected to fail (sources that answer 404), ended. */
  failed: JobView[];
  /** The job interrupted by SIGKILL and resumed on the standby worker, ended. */
  resumed: JobView;
  /** The worker that was killed and the one that took over. */
  killed: WorkerHandle;
  standby: WorkerHandle;
  /** UploadPart requests the emulator was told to fail. */
  injectedPartFailures: number;
}

/** Waits until Prometheus' instant value of `expr` (a single number) satisfies `ok`. */
export async function waitForPromValue(
  prometheus: PrometheusProcess,
  expr: string,
  ok: (value: number) => boolean,
  timeoutMs = 60_000,
): Promise<number> {
  let last: number | undefined;
  return await pollUntil(
    `prometheus to see ${expr}`,
    async () => {
      const [first] = await prometheus.vector(expr);
      last = first?.value ? Number(first.value[1]) : undefined;
      return last !== undefined && ok(last) ? last : undefined;
    },
    { timeoutMs, intervalMs: 250 },
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last value: ${last ?? 'no series'}`, { cause: err });
  });
}

/** Waits until Prometheus scrapes `target` of `job` successfully. */
export async function waitForTargetUp(prometheus: PrometheusProcess, job: string, target: string) {
  await waitForPromValue(prometheus, `up{job="${job}", instance="${target}"}`, (v) => v === 1);
}

/**
 * A small workload that moves every dashboard panel: it must run while Prometheus scrapes, with
 * exactly one worker running (the one to be killed).
 * 1. One 8 MiB file job on the only worker, slowed by the emulator's throttle; mid-upload every STS
 *    credential is expired (→ the worker refreshes its UploadAuth), then the worker is
 *    SIGKILLed and a standby worker resumes the job from its checkpoint (→ resumes, skipped bytes,
 *    a BullMQ stall, a reattach credential refresh).
 * 2. File and URL jobs that succeed while the emulator fails a few UploadPart requests (→ part
 *    retries, STORAGE_ERROR), and URL jobs whose origin answers 404 (→ failed, SOURCE_NOT_FOUND).
 */
export async function runObservabilityWorkload(
  system: System,
  prometheus: PrometheusProcess,
  sources: SourceServer,
): Promise<WorkloadResult> {
  const client = system.client('svc-a');
  const run = randomBytes(3).toString('hex');

  // 1. Credential expiry and a resume.
  // 8 MiB at 512 KiB/s: 16 s, time enough to start the standby, expire credentials and kill.
  const interrupted = await startInterruptibleJobs(system, {
    count: 1,
    sizeMiB: 8,
    throttleBytesPerSecond: 512 * 1024,
  });
  const interruptedId = interrupted.jobs[0]!.id;
  const { owner: killed, standby } = interrupted;
  await prometheus.setTargets(WORKER_JOB, [targetOf(killed), targetOf(standby)]);
  // The standby's counters must be scraped at 0 before they move, or rate() misses the first step.
  await waitForTargetUp(prometheus, WORKER_JOB, targetOf(standby));
  const ownerRefreshes = `sum(mediaferry_credential_refreshes_total{instance="${targetOf(killed)}"})`;
  const refreshesBefore = await waitForPromValue(prometheus, ownerRefreshes, () => true);
  await system.admin.expireCredentials();
  await waitForPromValue(prometheus, ownerRefreshes, (v) => v > refreshesBefore);
  const beforeKill = await client.getJob(interruptedId);
  if (beforeKill.status !== 'running') {
    throw new Error(`job ${interruptedId} was ${beforeKill.status} before the kill: slow the throttle down`);
  }
  killed.kill('SIGKILL');
  await killed.process.exited;
  await system.admin.throttle(null);

  // 2. Successes with part retries, and failures, on the standby (running alongside the resume).
  const injectedPartFailures = 3;
  await system.admin.failUploadParts({ count: injectedPartFailures, status: 500, code: 'InternalError' });
  const good: JobSpecInput[] = [];
  for (const [i, size] of [1.5, 2, 3].entries()) {
    const file = await makeRandomFile(system.mediaDir, `obs-${run}-${i}.mp4`, mib(size));
    good.push({ source: { type: 'file', path: file.path }, media: { type: 'video', title: `Obs ${i}` } });
  }
  for (const [i, size] of [1, 2.5].entries()) {
    const file = await makeRandomFile(system.mediaDir, `obs-url-${run}-${i}.mp4`, mib(size));
    good.push({
      source: { type: 'url', url: sources.serve(file.name, file.path) },
      media: { type: 'video', title: `Obs URL ${i}` },
    });
  }
  // Accepted (the API checks only the URL's address), then 404 when the worker fetches it.
  // A path the source server never registered answers 404.
  const base = (good.at(-1)!.source as { url: string }).url;
  const bad: JobSpecInput[] = [0, 1].map((i) => ({
    source: { type: 'url', url: new URL(`/gone-${run}-${i}.mp4`, base).href },
    media: { type: 'video', title: `Gone ${i}` },
  }));
  const goodJobs = await Promise.all(good.map((spec) => client.createJob(spec)));
  const badJobs = await Promise.all(bad.map((spec) => client.createJob(spec)));

  const [resumed, succeeded, failed] = await Promise.all([
    waitForTerminal(client, interruptedId),
    Promise.all(goodJobs.map((j) => waitForTerminal(client, j.id))),
    Promise.all(badJobs.map((j) => waitForTerminal(client, j.id))),
  ]);
  await clientUploadWorkload(system);
  return { succeeded, failed, resumed, killed, standby, injectedPartFailures };
}

/**
 * 3. A client upload completed by VOD's event (the system's env points the emulator's callbacks at the
 * API), and one forged event: `mediaferry_client_uploads_total` and `mediaferry_vod_events_total` move.
 */
async function clientUploadWorkload(system: System): Promise<void> {
  const api = system.client('svc-a').clientUploads;
  const { clientUpload: cu } = await api.create({
    media: { type: 'video', title: 'Obs client upload' },
    fileName: 'obs-client.mp4',
    fileSize: 4096,
  });
  const o = cu.oss;
  if (!o) throw new Error('no credentials in the create answer');
  await new OSS({
    endpoint: o.endpoint,
    bucket: o.bucket,
    region: o.region,
    accessKeyId: o.accessKeyId,
    accessKeySecret: o.accessKeySecret,
    stsToken: o.securityToken,
    authorizationV4: true,
  }).put(o.objectKey, randomBytes(4096));
  await pollUntil('the client upload to complete', async () => {
    const now = await api.get(cu.id);
    return now.status === 'completed' ? now : undefined;
  });
  const forged = await fetch(`${system.apiUrl}/v1/vod/events`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-vod-timestamp': String(Math.floor(Date.now() / 1000)),
      'x-vod-signature': '0'.repeat(32),
    },
    body: JSON.stringify({ EventType: 'FileUploadComplete', VideoId: cu.mediaId }),
  });
  if (forged.status !== 401) throw new Error(`a forged VOD event answered ${forged.status}`);
}
