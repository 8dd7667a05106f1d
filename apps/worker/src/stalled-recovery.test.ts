import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeRedis, createRedis, QUEUE_NAMES } from '@mediaferry/queue';
import { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppBuild, buildApp } from './test-support/build-app.js';
import { type InProcessWorker, startInProcessWorker } from './test-support/in-process-worker.js';
import { startKillableWorker } from './test-support/killable-worker.js';
import { KiB, type Stack, startStack } from './test-support/stack.js';

let stack: Stack;
let survivor: InProcessWorker | undefined;
let build: AppBuild;
let doomed: { child: ChildProcess } | undefined;

beforeAll(async () => {
  [build, stack] = await Promise.all([buildApp(), startStack()]);
});
afterAll(async () => {
  if (doomed?.child.exitCode === null && doomed.child.signalCode === null) doomed.child.kill('SIGKILL');
  await survivor?.close();
  await stack?.close();
  await build?.remove();
});

describe('a worker killed with SIGKILL', () => {
  it('loses its job to stalled detection; another worker resumes it from the checkpoint', async () => {
    const lock = { lockDurationMs: 2000, stalledIntervalMs: 500, runWebhookWorker: false };
    doomed = await startKillableWorker(build.dir, stack.env, lock);
    await stack.emulator.admin.throttle(384 * KiB);
    const { record, crc64 } = await stack.submitFile('killed.mp4', 2048 * KiB);
    await stack.waitFor(record.id, (r) => r.progress.partsDone >= 3);
    doomed.child.kill('SIGKILL');
    await once(doomed.child, 'exit');
    await stack.emulator.admin.throttle(null);

    survivor = await startInProcessWorker(stack, lock);
    const done = await stack.waitFor(record.id);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 1, result: { size: 2048 * KiB, crc64 } });
    expect(await survivor.metric('mediaferry_resumes_total')).toBe(1);
    expect(await survivor.metric('mediaferry_resume_skipped_bytes_total')).toBeGreaterThanOrEqual(
      3 * 128 * KiB,
    );
    expect(await stack.emulator.admin.listUploads(stack.emulator.vodBucket)).toEqual([]);
    expect(survivor.logs.join('')).toContain('job stalled');
  });

  it('fails the record of a job that stalled more than maxStalledCount times, once, with JOB_STALLED', async () => {
    await survivor?.close();
    survivor = undefined;
    const { record } = await stack.submitFile('stalls.mp4', 10 * KiB, {
      callbackUrl: 'https://hooks.example.com/stalls',
    });
    // A worker that takes the job (BullMQ manual processing: a 300 ms lock nobody renews), marks the
    // record running, then dies without a trace.
    const connection = createRedis(stack.config.redisUrl, { role: 'worker' });
    const dying = new Worker(QUEUE_NAMES.uploads, null, {
      connection,
      prefix: stack.queue.queueOf(record.id).opts.prefix,
      lockDuration: 300,
      autorun: false,
    });
    const taken = await dying.getNextJob('dead-worker:1');
    expect(taken?.id).toBe(record.id);
    await stack.store.start(record.id, 1, 'dead-worker:1');
    await dying.close();
    await closeRedis(connection);

    // maxStalledCount 0: the first stall is one too many; BullMQ fails the job on its next pick-up.
    survivor = await startInProcessWorker(stack, { stalledIntervalMs: 200, maxStalledCount: 0 });
    const failed = await stack.waitFor(record.id);
    expect(failed).toMatchObject({
      status: 'failed',
      error: { code: 'JOB_STALLED', retryable: false },
      progress: { uploadedBytes: 0 },
    });
    expect(failed.finishedAt).toEqual(expect.any(Number));
    const bull = await stack.queue.getJob(record.id);
    expect(bull?.failedReason).toContain('stalled');
    expect(await survivor.metric('mediaferry_jobs_total', { status: 'failed' })).toBe(1);
  });
});
