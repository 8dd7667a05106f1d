import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { freePort, type RedisServer, startRedisServer, waitForPort } from '@mediaferry/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppBuild, buildApp } from './test-support/build-app.js';

let build: AppBuild;
let redis: RedisServer;

beforeAll(async () => {
  [build, redis] = await Promise.all([buildApp(), startRedisServer()]);
});
afterAll(async () => {
  await redis?.stop();
  await build?.remove();
});

function run(env: Record<string, string>) {
  const child = spawn(process.execPath, [build.mainJs], {
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

describe('node apps/api/dist/main.js', () => {
  it('refuses to start without MEDIAFERRY_API_TOKENS, naming the variable', async () => {
    const proc = run({ REDIS_URL: redis.url, API_PORT: String(await freePort()) });
    const [code] = await proc.exited;
    expect(code).toBe(78);
    expect(proc.output().stderr).toContain('MEDIAFERRY_API_TOKENS');
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
      expect(proc.output().stdout).not.toContain('main-test-token');
    } finally {
      proc.child.kill('SIGKILL');
    }
  });
});
