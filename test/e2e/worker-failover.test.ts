import { closeRedis, createRedis, StoreKeys, uploadShardOf } from '@mediaferry/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectNoCrashes,
  expectNoSecrets,
  expectObjectMatches,
  uploadPartBytes,
} from './support/expectations.js';
import { startInterruptibleJobs } from './support/interrupted-upload.js';
import { waitForTerminal } from './support/job-waits.js';
import { scrapeMetric } from './support/metrics.js';
import { useSystem } from './support/use-system.js';
import { pollUntil } from './support/waits.js';
import { WebhookReceiver } from './support/webhook-receiver.js';

const PART_SIZE = 256 * 1024;
const PARALLELISM = 4;
/** Short BullMQ locks so a dead or frozen worker's jobs are reclaimed within seconds. */
const SHORT_LOCKS = { WORKER_LOCK_DURATION_MS: '4000', WORKER_STALLED_INTERVAL_MS: '2000' };
const uploadEnv = { UPLOAD_PART_SIZE: String(PART_SIZE), UPLOAD_PART_PARALLELISM: String(PARALLELISM) };

describe('a worker killed with SIGKILL mid-upload', () => {
  const system = useSystem({ workers: 1, env: { ...uploadEnv, ...SHORT_LOCKS } });

  it('its jobs finish on the other worker, intact, re-uploading at most parallelism × part size each', async () => {
    const sys = system();
    const client = sys.client('svc-a');
    const { jobs, files, owner, standby } = await startInterruptibleJobs(sys, {
      count: 2,
      sizeMiB: 6,
      throttleBytesPerSecond: 512 * 1024,
    });
    owner.kill('SIGKILL');
    await owner.process.exited;
    await sys.admin.throttle(null);

    for (const [i, job] of jobs.entries()) {
      const done = await waitForTerminal(client, job.id);
      await expectObjectMatches(sys, done, files[i]!);
      const sent = await uploadPartBytes(sys, done.result!.objectKey);
      expect(
        sent.bytes - files[i]!.size,
        `job ${job.id}: ${sent.bytes} bytes in ${sent.requests} UploadPart requests for ${files[i]!.size}`,
      ).toBeLessThanOrEqual(PARALLELISM * PART_SIZE);
    }
    // Resumed, not restarted: one media per job, and the standby counted its resumes.
    expect(await sys.admin.requests({ operation: 'CreateUploadVideo' })).toHaveLength(jobs.length);
    expect(await scrapeMetric(standby.metricsUrl, 'mediaferry_resumes_total')).toBeGreaterThanOrEqual(
      jobs.length,
    );
    expectNoCrashes(sys);
    // Error paths (lost locks, stalls, reconnects) log the most: still no secret.
    expectNoSecrets(sys);
  });
});

describe('a worker stopped with SIGTERM mid-upload', () => {
  const lockMs = 30_000;
  const system = useSystem({
    workers: 1,
    env: {
      ...uploadEnv,
      WORKER_LOCK_DURATION_MS: String(lockMs),
      WORKER_STALLED_INTERVAL_MS: String(lockMs),
    },
  });

  it('hands its job back: another worker resumes it at once, without spending an attempt', async () => {
    const sys = system();
    const client = sys.client('svc-a');
    const { jobs, files, owner } = await startInterruptibleJobs(sys, {
      count: 1,
      sizeMiB: 6,
      throttleBytesPerSecond: 512 * 1024,
    });
    const job = jobs[0]!;
    const before = await client.getJob(job.id);
    owner.kill('SIGTERM');
    await sys.admin.throttle(null);
    // Lock expiry would take `lockMs` (+ a stalled-check interval): finishing inside that window means
    // the job was handed over, not reclaimed.
    const done = await waitForTerminal(client, job.id, lockMs);
    await expectObjectMatches(sys, done, files[0]!);
    expect(done.attempts).toBe(before.attempts);
    expect(await owner.process.exited).toEqual({ code: 0, signal: null });
    // BullMQ never saw the job stall.
    const redis = createRedis(sys.redisTarget, { role: 'worker' });
    try {
      const shard = uploadShardOf(job.id, Number(sys.env.MEDIAFERRY_QUEUE_SHARDS ?? 1));
      const prefix = new StoreKeys(sys.redisPrefix).uploadQueuePrefix(shard);
      const stalled = await redis.hget(`${prefix}:uploads:${job.id}`, 'stc');
      expect(Number(stalled ?? 0)).toBe(0);
    } finally {
      await closeRedis(redis);
    }
    expect(await sys.admin.requests({ operation: 'CreateUploadVideo' })).toHaveLength(1);
    expectNoCrashes(sys);
    // Error paths (lost locks, stalls, reconnects) log the most: still no secret.
    expectNoSecrets(sys);
  });
});

describe('a worker whose event loop stalls past its lock (SIGSTOP)', () => {
  const system = useSystem({ workers: 1, env: { ...uploadEnv, ...SHORT_LOCKS } });
  let hooks: WebhookReceiver;
  beforeAll(async () => {
    hooks = await WebhookReceiver.start();
  });
  afterAll(async () => {
    await hooks?.close();
  });

  it('after SIGCONT the job completes exactly once, with one media and an intact object', async () => {
    const sys = system();
    const client = sys.client('svc-a');
    const { jobs, files, owner, standby } = await startInterruptibleJobs(sys, {
      count: 1,
      sizeMiB: 6,
      throttleBytesPerSecond: 512 * 1024,
      callbackUrl: hooks.url('/stall'),
    });
    const job = jobs[0]!;
    owner.kill('SIGSTOP');
    // The standby reclaims the job once the frozen worker's lock expires.
    await pollUntil(
      'the standby worker to take the job over',
      async () =>
        (await scrapeMetric(standby.metricsUrl, 'mediaferry_active_jobs')) >= 1 ? true : undefined,
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    await sys.admin.throttle(null);
    const done = await waitForTerminal(client, job.id);
    expect(done.status).toBe('succeeded');

    owner.kill('SIGCONT');
    // The thawed worker notices it lost the job and lets go of it (its gauge drops to 0).
    await pollUntil(
      'the thawed worker to drop the job',
      async () => ((await scrapeMetric(owner.metricsUrl, 'mediaferry_active_jobs')) === 0 ? true : undefined),
      { timeoutMs: 60_000, intervalMs: 250, watch: [owner.process] },
    );
    const key = done.result!.objectKey;
    const completes = (await sys.admin.requests({ operation: 'CompleteMultipartUpload' })).filter(
      (e) => e.key === key && e.status === 200,
    );
    expect(completes).toHaveLength(1);
    expect(await sys.admin.requests({ operation: 'CreateUploadVideo' })).toHaveLength(1);
    await expectObjectMatches(sys, done, files[0]!);
    const after = await client.getJob(job.id);
    expect({ status: after.status, finishedAt: after.finishedAt, result: after.result }).toEqual({
      status: 'succeeded',
      finishedAt: done.finishedAt,
      result: done.result,
    });
    await hooks.waitFor(
      (d) => (d.json as { job?: { id?: string } })?.job?.id === job.id,
      AbortSignal.timeout(30_000),
    );
    const deliveries = hooks.deliveries.filter(
      (d) => (d.json as { job?: { id?: string } })?.job?.id === job.id,
    );
    expect(deliveries.map((d) => (d.json as { event: string }).event)).toEqual(['job.succeeded']);
    expect(owner.process.running).toBe(true);
    expectNoCrashes(sys);
    // Error paths (lost locks, stalls, reconnects) log the most: still no secret.
    expectNoSecrets(sys);
  });
});
