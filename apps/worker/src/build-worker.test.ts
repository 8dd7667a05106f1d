import { rm } from 'node:fs/promises';
import { WEBHOOK_QUEUE_NAME } from '@mediaferry/webhooks';
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type InProcessWorker, startInProcessWorker } from './test-support/in-process-worker.js';
import { KiB, type Stack, startStack } from './test-support/stack.js';

let stack: Stack;
let worker: InProcessWorker | undefined;

beforeAll(async () => {
  stack = await startStack();
});
afterEach(async () => {
  await worker?.close();
  worker = undefined;
  await stack.emulator.admin.resetFaults();
});
afterAll(async () => {
  await stack?.close();
});

async function webhookDeliveries(jobId: string) {
  const queue = new Queue(WEBHOOK_QUEUE_NAME, {
    connection: stack.redis,
    prefix: stack.store.keys.webhookQueuePrefix(),
  });
  try {
    const jobs = await queue.getJobs(['wait', 'delayed', 'prioritized', 'active', 'completed', 'failed']);
    return jobs.filter((j) => j.data.jobId === jobId).map((j) => j.data as { event: string; body: string });
  } finally {
    await queue.close();
  }
}

describe('upload worker (in process)', () => {
  it('uploads a file job into VOD and records the result, progress, metrics and webhook', async () => {
    worker = await startInProcessWorker(stack);
    const { record, crc64 } = await stack.submitFile('a.mp4', 700 * KiB, {
      callbackUrl: 'https://hooks.example.com/done',
    });
    const done = await stack.waitFor(record.id);
    expect(done).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      error: null,
      result: { mediaType: 'video', size: 700 * KiB, crc64 },
      progress: { uploadedBytes: 700 * KiB, totalBytes: 700 * KiB, percent: 100 },
    });
    const media = await stack.emulator.admin.media(done.result?.mediaId as string);
    expect(media.status).not.toBe('Uploading');
    const objects = await stack.emulator.admin.listObjects(done.result?.bucket as string);
    expect(objects.find((o) => o.key === done.result?.objectKey)).toMatchObject({ size: 700 * KiB, crc64 });
    expect(await worker.metric('mediaferry_jobs_total', { status: 'succeeded', source_type: 'file' })).toBe(
      1,
    );
    expect(await worker.metric('mediaferry_upload_bytes_total', { source_type: 'file' })).toBe(700 * KiB);
    expect(await worker.metric('mediaferry_source_bytes_total')).toBe(700 * KiB);
    const hooks = await webhookDeliveries(record.id);
    expect(hooks.map((h) => h.event)).toEqual(['job.succeeded']);
    expect(JSON.parse(hooks[0]?.body ?? '{}').job).toMatchObject({ id: record.id, status: 'succeeded' });
    expect((await stack.queue.getJob(record.id))?.returnvalue).toMatchObject({ outcome: 'succeeded' });
  });

  it('fails a job for good on a fatal error, with its code, and never retries it', async () => {
    worker = await startInProcessWorker(stack);
    // The file vanishes between submission and upload.
    const { record } = await stack.submitFile('gone.mp4', 10 * KiB);
    await rm(record.spec.source.type === 'file' ? record.spec.source.path : '');
    const failed = await stack.waitFor(record.id);
    expect(failed).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { code: 'SOURCE_NOT_FOUND', retryable: false },
    });
    const bull = await stack.queue.getJob(record.id);
    while (!(await bull?.isFailed())) await new Promise((r) => setTimeout(r, 20));
    const state = await stack.queue.getJob(record.id);
    expect(state?.failedReason).toContain('SOURCE_NOT_FOUND');
    expect(state?.attemptsMade).toBe(1);
    expect(
      await worker.metric('mediaferry_jobs_total', { status: 'failed', error_code: 'SOURCE_NOT_FOUND' }),
    ).toBe(1);
  });

  it('retries a retryable error with backoff and then succeeds', async () => {
    worker = await startInProcessWorker(stack);
    // VOD answers 503 as often as the engine tries within one attempt (6): the attempt fails with a
    // retryable error, the record keeps it while queued, and BullMQ runs the job again.
    await stack.emulator.admin.failVodCalls({ action: 'CreateUploadVideo', count: 6, status: 503 });
    const { record } = await stack.submitFile('retry.mp4', 50 * KiB);
    const between = await stack.waitFor(record.id, (r) => r.error !== null);
    expect(between).toMatchObject({ status: 'queued', error: { code: 'VOD_ERROR', retryable: true } });
    const done = await stack.waitFor(record.id);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 2, error: null });
  });

  it('cancels a running upload: multipart aborted, checkpoint dropped, webhook sent', async () => {
    worker = await startInProcessWorker(stack);
    await stack.emulator.admin.throttle(256 * KiB);
    const { record } = await stack.submitFile('cancel.mp4', 2048 * KiB, {
      callbackUrl: 'https://hooks.example.com/c',
    });
    const running = await stack.waitFor(record.id, (r) => r.progress.partsDone >= 1);
    expect(running.status).toBe('running');
    // Its parts in flight (held by the throttle) take their memory from the worker's budget.
    expect(await worker.metric('mediaferry_worker_buffer_bytes', { state: 'in_use' })).toBeGreaterThan(0);
    const checkpointKey = `${stack.config.redisPrefix}:checkpoint:${record.id}`;
    expect(await stack.redis.exists(checkpointKey)).toBe(1);

    await stack.store.cancel(record.id);
    while ((await stack.queue.getJob(record.id))?.returnvalue === null)
      await new Promise((r) => setTimeout(r, 20));
    await stack.emulator.admin.throttle(null);
    expect((await stack.queue.getJob(record.id))?.returnvalue).toMatchObject({ outcome: 'canceled' });
    expect(await stack.redis.exists(checkpointKey)).toBe(0);
    expect(await stack.emulator.admin.listUploads(stack.emulator.vodBucket)).toEqual([]);
    expect((await stack.store.get(record.id))?.status).toBe('canceled');
    expect((await webhookDeliveries(record.id)).map((h) => h.event)).toEqual(['job.canceled']);
    expect(await worker.metric('mediaferry_jobs_total', { status: 'canceled' })).toBe(1);
    expect(await worker.metric('mediaferry_active_jobs')).toBe(0);
    expect(await worker.metric('mediaferry_worker_buffer_bytes', { state: 'in_use' })).toBe(0);
    expect(await worker.metric('mediaferry_worker_buffer_budget_bytes')).toBe(
      stack.config.worker.memoryBudgetBytes,
    );
  });

  it('cleans up a job that was canceled while it waited for a retry', async () => {
    const { record } = await stack.submitFile('late-cancel.mp4', 20 * KiB, {
      callbackUrl: 'https://hooks.example.com/l',
    });
    await stack.store.cancel(record.id); // the API leaves jobs that ran before to a worker
    worker = await startInProcessWorker(stack);
    while ((await stack.queue.getJob(record.id))?.returnvalue === null)
      await new Promise((r) => setTimeout(r, 20));
    expect((await stack.queue.getJob(record.id))?.returnvalue).toMatchObject({ outcome: 'canceled' });
    expect((await webhookDeliveries(record.id)).map((h) => h.event)).toEqual(['job.canceled']);
    // Nothing was uploaded for it.
    expect((await stack.store.get(record.id))?.startedAt).toBeNull();
  });

  it('lets go without touching the record when another worker took the job over meanwhile', async () => {
    worker = await startInProcessWorker(stack, { lockDurationMs: 1000, stalledIntervalMs: 300 });
    // Hold the run in CreateUploadVideo long enough to play the takeover.
    await stack.emulator.admin.delayResponses({
      ms: 400,
      service: 'vod',
      operation: 'CreateUploadVideo',
      count: 1,
    });
    const { record, crc64 } = await stack.submitFile('taken-over.mp4', 100 * KiB); // one part
    const statuses: string[] = [];
    const off = await stack.events.subscribeJob(record.id, (e) => {
      if (e.type === 'status') statuses.push(e.status);
    });
    try {
      await stack.waitFor(record.id, (r) => r.status === 'running');
      // Another worker starts the job (as after this one's lock expired), and this run then hits a
      // fatal error: the record is the other run's now, so this run must not fail it.
      await stack.store.start(record.id, 1, 'other-worker:1');
      // A one-part source goes up in a single PutObject: that is the request that fails.
      await stack.emulator.admin.injectFault({
        service: 'oss',
        operation: 'PutObject',
        count: 1,
        action: { kind: 'fail', status: 403, code: 'AccessDenied' },
      });
      // This worker let go; its job comes back through stalled detection and this worker finishes it.
      const done = await stack.waitFor(record.id);
      expect(done).toMatchObject({ status: 'succeeded', attempts: 1, error: null, result: { crc64 } });
      expect(statuses).not.toContain('failed');
      expect(worker.logs.join('')).toContain('another worker took the job over');
    } finally {
      await off();
    }
  });

  it('completes each job exactly once with two workers sharing the queue', async () => {
    worker = await startInProcessWorker(stack);
    const second = await startInProcessWorker(stack);
    try {
      const jobs = await Promise.all(
        Array.from({ length: 6 }, (_, i) => stack.submitFile(`many-${i}.mp4`, 150 * KiB)),
      );
      const done = await Promise.all(jobs.map((j) => stack.waitFor(j.record.id)));
      expect(done.map((d) => d.status)).toEqual(Array(6).fill('succeeded'));
      const total =
        (await worker.metric('mediaferry_jobs_total', { status: 'succeeded' })) +
        (await second.metric('mediaferry_jobs_total', { status: 'succeeded' }));
      expect(total).toBe(6);
      for (const [i, d] of done.entries()) expect(d.result?.crc64).toBe(jobs[i]?.crc64);
    } finally {
      await second.close();
    }
  });
});
