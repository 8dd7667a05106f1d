import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { freePort } from '@mediaferry/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppBuild, buildApp } from './test-support/build-app.js';
import { KiB, type Stack, startStack } from './test-support/stack.js';

let build: AppBuild;
let stack: Stack;
const children: ChildProcess[] = [];

beforeAll(async () => {
  [build, stack] = await Promise.all([buildApp(), startStack()]);
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await stack?.close();
  await build?.remove();
});

interface WorkerProcess {
  child: ChildProcess;
  url: string;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
  output(): string;
  metric(name: string): Promise<number>;
}

/** `node dist/main.js` with the stack's environment; resolves once /healthz answers. */
async function startWorkerProcess(
  o: { nodeArgs?: string[]; env?: Record<string, string> } = {},
): Promise<WorkerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), build.mainJs], {
    env: { PATH: process.env.PATH ?? '', ...stack.env, WORKER_METRICS_PORT: String(port), ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (d) => {
    output += String(d);
  });
  child.stderr?.on('data', (d) => {
    output += String(d);
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`worker exited early:\n${output}`);
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok && output.includes('worker started')) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    url,
    exited,
    output: () => output,
    async metric(name) {
      const text = await (await fetch(`${url}/metrics`)).text();
      return text
        .split('\n')
        .filter((l) => l.startsWith(name) && (l[name.length] === ' ' || l[name.length] === '{'))
        .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    },
  };
}

/**
 * A programmer error on demand inside a real worker process: preloaded with `--import`, it throws from
 * the event loop (or leaves a rejection unhandled) when the process gets SIGUSR2.
 */
const FAULT_ON_SIGUSR2 = `data:text/javascript,${encodeURIComponent(`
  process.on('SIGUSR2', () => {
    if (process.env.FAULT_KIND === 'rejection') Promise.reject(new Error('injected-rejection'));
    else setImmediate(() => { throw new Error('injected-bug'); });
  });
`)}`;

describe('node apps/worker/dist/main.js', () => {
  it('runs a file job end to end, serves /metrics and /healthz, and exits 0 on SIGTERM', async () => {
    const worker = await startWorkerProcess();
    const { record, crc64 } = await stack.submitFile('process.mp4', 600 * KiB);
    const done = await stack.waitFor(record.id);
    expect(done).toMatchObject({ status: 'succeeded', result: { size: 600 * KiB, crc64 } });
    expect(await worker.metric('mediaferry_jobs_total')).toBe(1);
    expect(await worker.metric('mediaferry_worker_up')).toBe(1);
    expect(await worker.metric('mediaferry_upload_bytes_total')).toBe(600 * KiB);
    expect((await fetch(`${worker.url}/readyz`)).status).toBe(200);
    worker.child.kill('SIGTERM');
    const [code] = await worker.exited;
    expect(code).toBe(0);
    expect(worker.output()).toContain('worker stopped');
    expect(worker.output()).toContain(`"vodEndpoint":"${stack.env.VOD_ENDPOINT}"`);
    expect(worker.output()).not.toContain(stack.config.vod.accessKeySecret);
  });

  it('hands a running job back on SIGTERM without spending an attempt; another worker resumes it', async () => {
    const first = await startWorkerProcess();
    await stack.emulator.admin.throttle(384 * KiB);
    const { record, crc64 } = await stack.submitFile('handoff.mp4', 3 * 1024 * KiB);
    const midway = await stack.waitFor(record.id, (r) => r.progress.partsDone >= 3);
    expect(midway.status).toBe('running');

    const signaled = Date.now();
    first.child.kill('SIGTERM');
    const [code] = await first.exited;
    expect(code).toBe(0);
    expect(Date.now() - signaled).toBeLessThan(stack.config.worker.shutdownGraceMs);
    expect(first.output()).toContain('job handed back');

    const handedBack = await stack.store.get(record.id);
    expect(handedBack).toMatchObject({ status: 'queued', attempts: 1, error: null });
    const bullJob = await stack.queue.getJob(record.id);
    expect(await bullJob?.getState()).toBe('waiting');
    expect(bullJob?.attemptsMade).toBe(0);

    await stack.emulator.admin.throttle(null);
    const second = await startWorkerProcess();
    const done = await stack.waitFor(record.id);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 1, result: { size: 3 * 1024 * KiB, crc64 } });
    expect(await second.metric('mediaferry_resumes_total')).toBe(1);
    expect(await second.metric('mediaferry_resume_skipped_bytes_total')).toBeGreaterThanOrEqual(
      3 * 128 * KiB,
    );
    expect(await second.metric('mediaferry_upload_bytes_total')).toBeLessThan(3 * 1024 * KiB);
    const finished = await stack.queue.getJob(record.id);
    expect(finished?.attemptsMade).toBe(1);
    expect(await stack.emulator.admin.listUploads(stack.emulator.vodBucket)).toEqual([]);
    second.child.kill('SIGTERM');
    expect((await second.exited)[0]).toBe(0);
  });
  for (const kind of ['exception', 'rejection'] as const) {
    it(`on an uncaught ${kind}: logs it, hands the job back, exits non-zero; another worker finishes the job`, async () => {
      const faulty = await startWorkerProcess({
        nodeArgs: ['--import', FAULT_ON_SIGUSR2],
        env: { FAULT_KIND: kind },
      });
      await stack.emulator.admin.throttle(384 * KiB);
      const { record, crc64 } = await stack.submitFile(`fault-${kind}.mp4`, 3 * 1024 * KiB);
      await stack.waitFor(record.id, (r) => r.progress.partsDone >= 3);

      faulty.child.kill('SIGUSR2');
      const [code] = await faulty.exited;
      expect(code).toBe(70);
      const output = faulty.output();
      expect(output).toContain(
        kind === 'exception'
          ? 'uncaught exception; handing work back and exiting'
          : 'unhandled promise rejection; handing work back and exiting',
      );
      expect(output).toContain(kind === 'exception' ? 'injected-bug' : 'injected-rejection');
      expect(output).toContain('job handed back');
      expect(await stack.store.get(record.id)).toMatchObject({ status: 'queued', error: null });

      await stack.emulator.admin.throttle(null);
      const second = await startWorkerProcess();
      const done = await stack.waitFor(record.id);
      expect(done).toMatchObject({ status: 'succeeded', result: { size: 3 * 1024 * KiB, crc64 } });
      expect(await second.metric('mediaferry_resumes_total')).toBe(1);
      expect(await stack.emulator.admin.listUploads(stack.emulator.vodBucket)).toEqual([]);
      second.child.kill('SIGTERM');
      expect((await second.exited)[0]).toBe(0);
    });
  }
});
