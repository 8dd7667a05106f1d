import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiError, MediaferryClient } from '@mediaferry/client';
import type { JobResult } from '@mediaferry/core';
import { closeRedis, createRedis, JobStore, waitForRedisReady } from '@mediaferry/queue';
import {
  freePort,
  makeTempDir,
  type RedisServer,
  startRedisServer,
  type TempDir,
  waitForPort,
} from '@mediaferry/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The client and the built CLI against the REAL API process (`node apps/api/dist/main.js`, configured
 * by the environment only), with this test playing the worker: it moves jobs through the same
 * JobStore transitions a worker makes, so status and progress reach the API's event stream.
 */
const CLI = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const API = fileURLToPath(new URL('../../api/dist/main.js', import.meta.url));
const TOKEN = 'real-api-token-5b1e';
const OTHER_TOKEN = 'real-api-token-other';

let redisServer: RedisServer;
let media: TempDir;
let api: ChildProcess;
let apiUrl: string;
let redis: ReturnType<typeof createRedis>;
let store: JobStore;
let client: MediaferryClient;
let file: string;

beforeAll(async () => {
  redisServer = await startRedisServer();
  media = await makeTempDir('mf-cli-real-');
  file = path.join(media.path, 'clip.mp4');
  await writeFile(file, Buffer.alloc(4096, 7));
  const port = await freePort();
  apiUrl = `http://127.0.0.1:${port}`;
  api = spawn(process.execPath, [API], {
    env: {
      PATH: process.env.PATH,
      REDIS_URL: redisServer.url,
      MEDIAFERRY_API_TOKENS: `svc-a:${TOKEN},svc-b:${OTHER_TOKEN}`,
      MEDIAFERRY_WEBHOOK_SECRETS: 'svc-a:whsec-test',
      MEDIAFERRY_FILE_ROOTS: media.path,
      API_PORT: String(port),
      BIND_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitForPort(port);
  redis = createRedis(redisServer.url, { role: 'client' });
  await waitForRedisReady(redis);
  store = new JobStore(redis, { prefix: 'mediaferry' });
  client = new MediaferryClient({ baseUrl: apiUrl, token: TOKEN });
});

afterAll(async () => {
  if (api && api.exitCode === null) {
    api.kill('SIGTERM');
    await once(api, 'exit');
  }
  if (redis) await closeRedis(redis);
  await redisServer?.stop();
  await media?.remove();
});

const RESULT: JobResult = {
  mediaId: 'media-1',
  mediaType: 'video',
  bucket: 'bucket-1',
  objectKey: 'sv/clip.mp4',
  size: 4096,
  crc64: '123',
  url: null,
};

/** What a worker does with a job: start, report progress, finish. */
async function work(id: string, outcome: 'succeed' | 'fail'): Promise<void> {
  expect((await store.start(id, 1)).ok).toBe(true);
  const progress = {
    uploadedBytes: 2048,
    totalBytes: 4096,
    percent: 50,
    partsDone: 1,
    partsTotal: 2,
    bytesPerSecond: 1024,
  };
  await store.progress(id, progress);
  if (outcome === 'succeed')
    await store.succeed(id, RESULT, { ...progress, uploadedBytes: 4096, percent: 100, partsDone: 2 });
  else
    await store.fail(
      id,
      { code: 'SOURCE_CHANGED', message: 'the file changed', retryable: false },
      { final: true },
    );
}

describe('client against the real API', () => {
  it('creates, replays by idempotency key, reads, lists and hides jobs from other services', async () => {
    const first = await client.submitJob(
      { source: { type: 'file', path: file }, media: { type: 'video', title: 'R' } },
      {
        idempotencyKey: 'real-1',
      },
    );
    expect(first).toMatchObject({ created: true, job: { service: 'svc-a', status: 'queued' } });
    const again = await client.submitJob(
      { source: { type: 'file', path: file }, media: { type: 'video', title: 'R' } },
      {
        idempotencyKey: 'real-1',
      },
    );
    expect(again.created).toBe(false);
    expect(again.job.id).toBe(first.job.id);
    expect((await client.getJob(first.job.id)).id).toBe(first.job.id);

    const ids: string[] = [];
    for await (const job of client.listAllJobs({ limit: 1 })) ids.push(job.id);
    expect(ids).toContain(first.job.id);

    const other = new MediaferryClient({ baseUrl: apiUrl, token: OTHER_TOKEN });
    await expect(other.getJob(first.job.id)).rejects.toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });

  it('surfaces the API’s errors as ApiError', async () => {
    const outside = await client
      .createJob({ source: { type: 'file', path: '/etc/passwd' }, media: { type: 'video', title: 'x' } })
      .catch((e: unknown) => e);
    expect(outside).toBeInstanceOf(ApiError);
    expect((outside as ApiError).status).toBe(400);
    const invalid = await client
      .createJob({ source: { type: 'file', path: file }, media: { type: 'video' } } as never)
      .catch((e: unknown) => e);
    expect(invalid).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    expect(JSON.stringify((invalid as ApiError).details)).toContain('media.title');
    const bad = new MediaferryClient({ baseUrl: apiUrl, token: 'not-a-token' });
    await expect(bad.listJobs()).rejects.toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
  });

  it('submits a batch, cancels and retries', async () => {
    const items = await client.createJobs([
      { source: { type: 'file', path: file }, media: { type: 'video', title: 'b1' } },
      { source: { type: 'file', path: '/nope/x.mp4' }, media: { type: 'video', title: 'b2' } },
    ]);
    expect(items).toHaveLength(2);
    expect(items[0]).toMatchObject({ status: 'queued' });
    expect(items[1]).toHaveProperty('error.code');
    const id = (items[0] as { id: string }).id;
    expect(await client.cancelJob(id)).toMatchObject({ status: 'canceled' });
    expect(await client.retryJob(id)).toMatchObject({ status: 'queued' });
  });

  it('follows a job through the event stream to its end', async () => {
    const job = await client.createJob({
      source: { type: 'file', path: file },
      media: { type: 'video', title: 'E' },
    });
    const seen: number[] = [];
    const waiting = client.waitForJob(job.id, { onProgress: (p) => seen.push(p.uploadedBytes) });
    await work(job.id, 'succeed');
    const final = await waiting;
    expect(final).toMatchObject({ status: 'succeeded', result: { mediaId: 'media-1' } });
    expect(seen.at(-1)).toBe(4096);
  });
});

describe('CLI against the real API', () => {
  function runCli(args: string[]) {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: media.path,
      env: { PATH: process.env.PATH, MEDIAFERRY_URL: apiUrl, MEDIAFERRY_TOKEN: TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const created = new Promise<string>((resolve) => {
      child.stdout.on('data', (d) => {
        stdout += String(d);
        const m = /job (job_[0-9a-z]+) queued/.exec(stdout);
        if (m) resolve(m[1]!);
      });
    });
    child.stderr.on('data', (d) => {
      stderr += String(d);
    });
    const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
      child.once('close', (code) => resolve({ code, stdout, stderr })),
    );
    return { created, done };
  }

  it('upload --wait exits 0 when the job succeeds', async () => {
    const run = runCli(['upload', 'clip.mp4', '--wait']);
    await work(await run.created, 'succeed');
    const { code, stdout } = await run.done;
    expect(code).toBe(0);
    expect(stdout).toMatch(/status:\s+succeeded/);
    expect(stdout).toMatch(/source:\s+file .*clip\.mp4/);
  });

  it('upload --wait exits 1 with the error code when the job fails', async () => {
    const run = runCli(['upload', file, '--wait', '--title', 'F']);
    await work(await run.created, 'fail');
    const { code, stderr } = await run.done;
    expect(code).toBe(1);
    expect(stderr).toContain('failed: SOURCE_CHANGED');
    expect(stderr).not.toContain(TOKEN);
  });
});
