import { jobSpecSchema } from '@mediaferry/core';
import { closeRedis, createRedis, QUEUE_NAMES, type UploadJobData, UploadQueues } from '@mediaferry/queue';
import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobsService } from './jobs.service.js';
import { auth, fileJob, useApi, view } from './test-support/api-fixture.js';

const api = useApi();

/** The real queue, with a hook that runs just before `remove()` reaches Redis. */
class RacingQueue extends Queue<UploadJobData, unknown, string> {
  beforeRemove: (() => Promise<void>) | undefined;
  override async remove(jobId: string, opts?: { removeChildren?: boolean }): Promise<number> {
    const hook = this.beforeRemove;
    this.beforeRemove = undefined;
    await hook?.();
    return await super.remove(jobId, opts);
  }
}

let queue: RacingQueue;
let connection: ReturnType<typeof createRedis>;
let worker: Worker;

beforeAll(async () => {
  const prefix = api.store.keys.uploadQueuePrefix(0);
  queue = new RacingQueue(QUEUE_NAMES.uploads, { connection: api.redis, prefix });
  connection = createRedis(api.redisServer.url, { role: 'worker' });
  worker = new Worker(QUEUE_NAMES.uploads, null, { connection, prefix, autorun: false });
});
afterAll(async () => {
  await worker?.close();
  await queue?.close();
  if (connection) await closeRedis(connection);
});

/** Takes jobs from the queue (as a worker would) until it holds `id`; puts the others back. */
async function take(id: string, token: string) {
  const others = [];
  let taken = await worker.getNextJob(token);
  while (taken && taken.id !== id) {
    others.push(taken);
    taken = await worker.getNextJob(token);
  }
  for (const other of others) await other.moveToWait(token);
  if (!taken) throw new Error(`job ${id} not found in the queue`);
  return taken;
}

describe('JobsService.retry', () => {
  it('refuses (409) when a worker picks the job up while the retry is under way, and changes nothing', async () => {
    const job = view(await api.createJob(fileJob(api)));
    // The job ran once and was handed back (waiting, attempts started), then it was canceled.
    const first = await take(job.id, 'worker:1');
    await first.moveToWait('worker:1');
    expect(
      view(await api.request({ method: 'DELETE', url: `/v1/jobs/${job.id}`, headers: auth() })).status,
    ).toBe('canceled');
    expect(await (await queue.getJob(job.id))?.getState()).toBe('waiting');

    const service = new JobsService({
      store: api.store,
      queue: new UploadQueues([queue]),
      checkSource: async () => {},
      webhookSecrets: new Map(),
    });
    // A worker takes the job (to clean up the cancel) just as the retry removes it.
    queue.beforeRemove = async () => {
      await take(job.id, 'worker:2');
    };
    await expect(service.retry(job.id, 'svc-a')).rejects.toMatchObject({ statusCode: 409, code: 'CONFLICT' });
    expect((await api.store.get(job.id))?.status).toBe('canceled');
    expect(await (await queue.getJob(job.id))?.getState()).toBe('active');
  });

  it('enqueues a queued job whose BullMQ job was lost, and refuses one that is in the queue', async () => {
    const spec = jobSpecSchema.parse(fileJob(api));
    // The record was written but the enqueue never happened (Redis went away in between).
    const { record } = await api.store.create({ service: 'svc-a', spec });
    const repaired = await api.request({
      method: 'POST',
      url: `/v1/jobs/${record.id}/retry`,
      headers: auth(),
    });
    expect(repaired.statusCode).toBe(202);
    expect(view(repaired)).toMatchObject({ id: record.id, status: 'queued' });
    expect((await queue.getJob(record.id))?.data).toEqual({ jobId: record.id, service: 'svc-a' });
    const again = await api.request({ method: 'POST', url: `/v1/jobs/${record.id}/retry`, headers: auth() });
    expect(again.statusCode).toBe(409);
  });
});
