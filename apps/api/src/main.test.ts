import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { freePort, type RedisServer, startRedisServer, waitForPort } from '@mediaferry/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppBuild, buildApp } from './test-support/build-app.js';

let build: AppBuild;
let redis: RedisServer;

beforeAll(async () => {
  // One after the other: should the build fail, the server is already ours to stop in afterAll.
  redis = await startRedisServer();
  build = await buildApp();
});
afterAll(async () => {
  await redis?.stop();
  await build?.remove();
});

function run(env: Record<string, string>, nodeArgs: string[] = []) {
  const child = spawn(process.execPath, [...nodeArgs, build.mainJs], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += String(d);
  });
  child.stderr.on('data', (d) => {
    stderr += String(d);
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, exited, output: () => ({ stdout, stderr }) };
}

/** A programmer error on demand inside the real API process: preloaded, it throws on SIGUSR2. */
const FAULT_ON_SIGUSR2 = `data:text/javascript,${encodeURIComponent(
  "process.on('SIGUSR2', () => setImmediate(() => { throw new Error('injected-bug'); }));",
)}`;

describe('node apps/api/dist/main.js', () => {
  it('refuses to start without MEDIAFERRY_API_TOKENS, naming the variable', async () => {
    const proc = run({ REDIS_URL: redis.url, API_PORT: String(await freePort()) });
    const [code] = await proc.exited;
    expect(code).toBe(78);
    expect(proc.output().stderr).toContain('MEDIAFERRY_API_TOKENS');
  });

  it('refuses a non-loopback VOD_ENDPOINT without an AccessKey pair, naming the variables', async () => {
    const proc = run({
      REDIS_URL: redis.url,
      API_PORT: String(await freePort()),
      MEDIAFERRY_API_TOKENS: 'svc-a:main-test-token',
      VOD_ENDPOINT: 'https://vod.cn-shanghai.aliyuncs.com',
    });
    const [code] = await proc.exited;
    expect(code).toBe(78);
    expect(proc.output().stderr).toContain('ALIBABA_CLOUD_ACCESS_KEY_ID');
    expect(proc.output().stderr).toContain('ALIBABA_CLOUD_ACCESS_KEY_SECRET');
  });

  it('serves, then shuts down cleanly on SIGTERM', async () => {
    const port = await freePort();
    const proc = run({
      REDIS_URL: redis.url,
      API_PORT: String(port),
      BIND_HOST: '127.0.0.1',
      MEDIAFERRY_API_TOKENS: 'svc-a:main-test-token',
    });
    try {
      await waitForPort(port);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      let ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      while (ready.status !== 200) {
        await new Promise((r) => setTimeout(r, 50));
        ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      }
      const list = await fetch(`http://127.0.0.1:${port}/v1/jobs`, {
        headers: { authorization: 'Bearer main-test-token' },
      });
      expect(list.status).toBe(200);
      proc.child.kill('SIGTERM');
      const [code] = await proc.exited;
      expect(code).toBe(0);
      const { stdout } = proc.output();
      expect(stdout).not.toContain('main-test-token');
      const vodLine = stdout.split('\n').find((l) => l.includes('"msg":"VOD endpoint"'));
      expect(JSON.parse(vodLine ?? '{}')).toMatchObject({
        vodEndpoint: 'http://127.0.0.1:9000',
        vodRegion: 'cn-shanghai',
        vodAccessKeyFrom: 'emulator-default',
      });
      // Request lines are written asynchronously: the last ones are flushed on the way out.
      const lines = stdout
        .split('\n')
        .filter((l) => l.includes('"msg":"request"'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.at(-1)).toMatchObject({
        level: 'info',
        name: 'api',
        reqId: expect.any(String),
        method: 'GET',
        path: '/v1/jobs',
        status: 200,
        service: 'svc-a',
        ms: expect.any(Number),
      });
    } finally {
      proc.child.kill('SIGKILL');
    }
  });
  it('on an uncaught exception: logs it, closes like SIGTERM, exits non-zero', async () => {
    const port = await freePort();
    const proc = run(
      {
        REDIS_URL: redis.url,
        API_PORT: String(port),
        BIND_HOST: '127.0.0.1',
        MEDIAFERRY_API_TOKENS: 'svc-a:main-test-token',
      },
      ['--import', FAULT_ON_SIGUSR2],
    );
    try {
      await waitForPort(port);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      proc.child.kill('SIGUSR2');
      const [code] = await proc.exited;
      expect(code).toBe(70);
      const { stdout } = proc.output();
      expect(stdout).toContain('uncaught exception; handing work back and exiting');
      expect(stdout).toContain('injected-bug');
      expect(stdout).toContain('"msg":"stopped"');
    } finally {
      proc.child.kill('SIGKILL');
    }
  });

  it('starts and shuts down on SIGTERM while Redis is down', async () => {
    const port = await freePort();
    const proc = run({
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      API_PORT: String(port),
      BIND_HOST: '127.0.0.1',
      MEDIAFERRY_API_TOKENS: 'svc-a:main-test-token',
    });
    try {
      await waitForPort(port);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(503);
      const list = await fetch(`http://127.0.0.1:${port}/v1/jobs`, {
        headers: { authorization: 'Bearer main-test-token' },
      });
      expect(list.status).toBe(503);
      proc.child.kill('SIGTERM');
      const [code] = await proc.exited;
      expect(code).toBe(0);
      expect(proc.output().stderr).toBe('');
    } finally {
      proc.child.kill('SIGKILL');
    }
  });
});
