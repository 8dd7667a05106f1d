import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JobView } from '@mediaferry/core';
import { type RedisServer, startRedisServer } from '@mediaferry/testkit';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebhookDispatcher } from './webhook-dispatcher.js';
import { verifyWebhookSignature } from './webhook-signature.js';
import { startWebhookWorker, type WebhookWorker, type WebhookWorkerEvents } from './webhook-worker.js';

const SECRET = 'whsec-test-1';

function jobView(id: string, status: JobView['status'] = 'succeeded'): JobView {
  return {
    id,
    service: 'svc-a',
    status,
    source: { type: 'file', path: '/srv/a.mp4' },
    media: { type: 'video', title: 'A' },
    target: { type: 'vod' },
    callbackUrl: null,
    idempotencyKey: null,
    priority: 0,
    progress: {
      uploadedBytes: 3,
      totalBytes: 3,
      percent: 100,
      partsDone: 1,
      partsTotal: 1,
      bytesPerSecond: 0,
    },
    attempts: 1,
    result: null,
    error: status === 'failed' ? { code: 'SOURCE_NOT_FOUND', message: 'gone', retryable: false } : null,
    createdAt: '2026-01-01T00:00:00.000Z',
    startedAt: '2026-01-01T00:00:01.000Z',
    finishedAt: '2026-01-01T00:00:02.000Z',
  };
}

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A real HTTP receiver; each request takes the next scripted answer (a status or 'hang'). */
async function startReceiver(script: Array<number | 'hang'> = []) {
  const received: Received[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
    for (const w of waiters.filter((w) => received.length >= w.n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
    const answer = script.shift() ?? 204;
    if (answer === 'hang') return; // never answers
    res.writeHead(answer).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/mediaferry?token=abc`,
    received,
    /** Resolves once `n` requests have arrived. */
    requests: (n: number) =>
      received.length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve })),
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

function next<K extends keyof WebhookWorkerEvents>(
  worker: WebhookWorker,
  event: K,
): Promise<WebhookWorkerEvents[K][0]> {
  return new Promise((resolve) =>
    worker.once(event, ((info: WebhookWorkerEvents[K][0]) => resolve(info)) as never),
  );
}

let redis: RedisServer;
let prefix: string;
let dispatcher: WebhookDispatcher;
let worker: WebhookWorker | undefined;
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis.stop();
});

let counter = 0;
function setup(options: { allowPrivate?: boolean; timeoutMs?: number; attempts?: number } = {}) {
  prefix = `t${++counter}`;
  const connection = { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null };
  dispatcher = new WebhookDispatcher({
    connection,
    prefix,
    retry: { attempts: options.attempts ?? 5, baseDelayMs: 10, maxDelayMs: 50 },
  });
  const start = () => {
    worker = startWebhookWorker({
      connection,
      prefix,
      secrets: new Map([['svc-a', SECRET]]),
      urlPolicy: { allowPrivate: options.allowPrivate ?? true },
      concurrency: 4,
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    });
    return worker;
  };
  return { start };
}

afterEach(async () => {
  // Receivers first: a hung request then fails at once instead of holding worker.close() up.
  for (const close of closers.splice(0)) await close();
  await worker?.close();
  worker = undefined;
  await dispatcher.close();
});

describe('webhook delivery', () => {
  it('POSTs the signed body with the contract headers', async () => {
    const receiver = await startReceiver([200]);
    closers.push(receiver.close);
    const w = setup().start();
    const delivered = next(w, 'delivered');
    const job = jobView('job_signed');
    const { deliveryId } = await dispatcher.enqueue({ service: 'svc-a', callbackUrl: receiver.url, job });
    expect(await delivered).toMatchObject({ deliveryId, attempt: 1, status: 200, event: 'job.succeeded' });

    const [req] = receiver.received;
    expect(verifyWebhookSignature(req!.body, req!.headers['x-mediaferry-signature'] as string, SECRET)).toBe(
      true,
    );
    expect(JSON.parse(req!.body)).toEqual({ event: 'job.succeeded', job });
    expect(req!.headers).toMatchObject({
      'content-type': 'application/json',
      'user-agent': 'mediaferry-webhooks/1',
      'x-mediaferry-delivery': deliveryId,
    });
    const ts = Number(req!.headers['x-mediaferry-timestamp']);
    expect(Math.abs(ts - Date.now() / 1000)).toBeLessThan(600);
  });

  it('retries a failing receiver with identical signed bytes and delivers on the 3rd attempt', async () => {
    const receiver = await startReceiver([500, 503, 200]);
    closers.push(receiver.close);
    const w = setup().start();
    const retries: number[] = [];
    w.on('retrying', (info) => retries.push(info.attempt));
    const delivered = next(w, 'delivered');
    await dispatcher.enqueue({
      service: 'svc-a',
      callbackUrl: receiver.url,
      job: jobView('job_retry', 'failed'),
    });
    expect(await delivered).toMatchObject({ attempt: 3, status: 200, event: 'job.failed' });
    expect(retries).toEqual([1, 2]);
    expect(receiver.received).toHaveLength(3);
    const bodies = new Set(receiver.received.map((r) => r.body));
    const ids = new Set(receiver.received.map((r) => r.headers['x-mediaferry-delivery']));
    expect(bodies.size).toBe(1);
    expect(ids.size).toBe(1);
    for (const r of receiver.received) {
      expect(verifyWebhookSignature(r.body, r.headers['x-mediaferry-signature'] as string, SECRET)).toBe(
        true,
      );
    }
  });

  it('refuses loopback callbacks when private addresses are not allowed', async () => {
    const receiver = await startReceiver();
    closers.push(receiver.close);
    const w = setup({ allowPrivate: false }).start();
    const refused = {
      attempt: 1,
      error: { code: 'WEBHOOK_REFUSED', message: expect.stringMatching(/public address/) },
    };
    const literal = next(w, 'gave-up');
    await dispatcher.enqueue({ service: 'svc-a', callbackUrl: receiver.url, job: jobView('job_ssrf') });
    expect(await literal).toMatchObject(refused);
    const byName = next(w, 'gave-up'); // a name that resolves to loopback is refused at connect time too
    const viaLocalhost = receiver.url.replace('127.0.0.1', 'localhost');
    await dispatcher.enqueue({ service: 'svc-a', callbackUrl: viaLocalhost, job: jobView('job_ssrf_dns') });
    expect(await byName).toMatchObject(refused);
    expect(receiver.received).toHaveLength(0);
  });

  it('stops at 410 Gone and drops deliveries of services without a secret', async () => {
    const receiver = await startReceiver([410]);
    closers.push(receiver.close);
    const w = setup().start();
    const gone = next(w, 'gave-up');
    await dispatcher.enqueue({ service: 'svc-a', callbackUrl: receiver.url, job: jobView('job_gone') });
    expect(await gone).toMatchObject({ attempt: 1, error: { code: 'WEBHOOK_REJECTED' } });

    const noSecret = next(w, 'gave-up');
    await dispatcher.enqueue({
      service: 'svc-unknown',
      callbackUrl: receiver.url,
      job: jobView('job_nosecret'),
    });
    expect(await noSecret).toMatchObject({ service: 'svc-unknown', error: { code: 'WEBHOOK_REFUSED' } });
    expect(receiver.received).toHaveLength(1);
    const counts = await dispatcher.queue.getJobCounts('failed', 'delayed', 'wait');
    expect(counts).toEqual({ failed: 2, delayed: 0, wait: 0 });
  });

  it('never blocks: enqueue returns and other deliveries go out while one receiver hangs', async () => {
    const hanging = await startReceiver(['hang']);
    const healthy = await startReceiver([200]);
    closers.push(hanging.close, healthy.close);
    const w = setup().start(); // default 10 s timeout: the hung attempt stays in flight throughout
    const outcomes: string[] = [];
    w.on('retrying', (i) => outcomes.push(`retrying ${i.jobId}`));
    w.on('delivered', (i) => outcomes.push(`delivered ${i.jobId}`));
    await dispatcher.enqueue({ service: 'svc-a', callbackUrl: hanging.url, job: jobView('job_hang') });
    await hanging.requests(1);
    const delivered = next(w, 'delivered');
    await dispatcher.enqueue({ service: 'svc-a', callbackUrl: healthy.url, job: jobView('job_fast') });
    expect(await delivered).toMatchObject({ jobId: 'job_fast' });
    expect(outcomes).toEqual(['delivered job_fast']); // the hung one has not finished (nor blocked anything)
  });

  it('times out an attempt the receiver never answers, and retries it', async () => {
    const receiver = await startReceiver(['hang', 200]);
    closers.push(receiver.close);
    const w = setup({ timeoutMs: 300 }).start();
    const retrying = next(w, 'retrying');
    const delivered = next(w, 'delivered');
    await dispatcher.enqueue({ service: 'svc-a', callbackUrl: receiver.url, job: jobView('job_timeout') });
    expect(await retrying).toMatchObject({ attempt: 1, error: { code: 'TIMEOUT' } });
    expect(await delivered).toMatchObject({ attempt: 2 });
  });

  it('keeps deliveries queued until a worker runs, and enqueues the same ending only once', async () => {
    const receiver = await startReceiver();
    closers.push(receiver.close);
    const { start } = setup();
    const job = jobView('job_persist', 'canceled');
    const first = await dispatcher.enqueue({ service: 'svc-a', callbackUrl: receiver.url, job });
    const again = await dispatcher.enqueue({ service: 'svc-a', callbackUrl: receiver.url, job });
    expect(again.deliveryId).toBe(first.deliveryId);
    expect(await dispatcher.queue.getJobCounts('wait')).toEqual({ wait: 1 });

    const w = start();
    expect(await next(w, 'delivered')).toMatchObject({ event: 'job.canceled', deliveryId: first.deliveryId });
    expect(await dispatcher.queue.getJobCounts('completed', 'wait', 'delayed')).toEqual({
      completed: 1,
      wait: 0,
      delayed: 0,
    });
    expect(receiver.received).toHaveLength(1);
  });

  it('gives up on enqueueing after enqueueTimeoutMs when Redis is down, instead of hanging the caller', async () => {
    setup();
    const own = await startRedisServer();
    const connection = new Redis({ host: '127.0.0.1', port: own.port, maxRetriesPerRequest: null });
    const stranded = new WebhookDispatcher({
      connection,
      prefix: 'down',
      enqueueTimeoutMs: 200,
    });
    try {
      await stranded.queue.waitUntilReady();
      await own.kill();
      await expect(
        stranded.enqueue({
          service: 'svc-a',
          callbackUrl: 'https://hooks.example/x',
          job: jobView('job_down'),
        }),
      ).rejects.toMatchObject({ name: 'TimeoutError' });
    } finally {
      await own.stop();
      connection.disconnect(); // stops reconnecting; queue.close() would wait for the dead Redis
    }
  });

  it('refuses to enqueue a job that has not ended', async () => {
    setup();
    await expect(
      dispatcher.enqueue({
        service: 'svc-a',
        callbackUrl: 'https://hooks.example/x',
        job: jobView('job_r', 'running'),
      }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
