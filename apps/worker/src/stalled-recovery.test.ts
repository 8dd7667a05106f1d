import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
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
});
