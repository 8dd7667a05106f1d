import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type ContractServer, startContractServer } from '@mediaferry/client/testing';
import { makeTempDir, type TempDir } from '@mediaferry/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/** These tests run the BUILT CLI (`dist/main.js`); `pnpm -F @mediaferry/cli test` builds it first. */
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const TOKEN = 'cli-secret-token-7f3a';

let server: ContractServer;
let cwd: TempDir;

beforeEach(async () => {
  server = await startContractServer({ tokens: { [TOKEN]: 'svc-cli' } });
  cwd = await makeTempDir('mf-cli-');
});
afterEach(async () => {
  await server.close();
  await cwd.remove();
});

interface Run {
  child: ChildProcess;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

function start(args: string[], env: Record<string, string | undefined> = {}): Run {
  const child = spawn(process.execPath, [MAIN, ...args], {
    cwd: cwd.path,
    env: { PATH: process.env.PATH, MEDIAFERRY_URL: server.url, MEDIAFERRY_TOKEN: TOKEN, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    stdout += String(d);
  });
  child.stderr!.on('data', (d) => {
    stderr += String(d);
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, done };
}

const run = (args: string[], env?: Record<string, string | undefined>) => start(args, env).done;

/** Starts `upload --wait`, and resolves once the CLI follows the new job's event stream. */
async function startWaiting(args: string[]): Promise<{ run: Run; id: string }> {
  const r = start(['upload', ...args, '--wait']);
  await server.waitForRequest('POST /v1/jobs');
  const id = server.jobs()[0]!.id;
  await server.waitForSubscriber(id);
  return { run: r, id };
}

describe('mediaferry upload', () => {
  it('resolves a relative path, defaults the title, and prints the job without the token', async () => {
    const { code, stdout, stderr } = await run(['upload', 'clips/intro.mp4']);
    expect(code).toBe(0);
    const job = server.jobs()[0]!;
    expect(job.source).toEqual({ type: 'file', path: `${cwd.path}/clips/intro.mp4` });
    expect(job.media).toMatchObject({ type: 'video', title: 'intro' });
    expect(job.target).toEqual({ type: 'vod' });
    expect(stdout).toContain(job.id);
    expect(stdout).toMatch(/status:\s+queued/);
    expect(server.requests[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(stdout + stderr).not.toContain(TOKEN);
  });

  it('builds URL, attached and OSS specs and prints JSON', async () => {
    const { code, stdout } = await run([
      'upload',
      'https://media.example.com/subs/en%20track.vtt',
      '--type',
      'attached',
      '--business-type',
      'subtitle',
      '--file-extension',
      'vtt',
      '--oss-bucket',
      'my-bucket',
      '--oss-key',
      'subs/en.vtt',
      '--idempotency-key',
      'cli-key-1',
      '--json',
    ]);
    expect(code).toBe(0);
    const printed = JSON.parse(stdout);
    expect(printed).toMatchObject({
      source: { type: 'url', url: 'https://media.example.com/subs/en%20track.vtt' },
      media: { type: 'attached', businessType: 'subtitle', fileExtension: 'vtt', title: 'en track' },
      target: { type: 'oss', bucket: 'my-bucket', key: 'subs/en.vtt' },
      idempotencyKey: 'cli-key-1',
    });
    expect(server.requests[0]!.headers['idempotency-key']).toBe('cli-key-1');
  });

  it('refuses bad command lines with exit code 2 before calling the API', async () => {
    const attached = await run(['upload', 'a.srt', '--type', 'attached']);
    expect(attached.code).toBe(2);
    expect(attached.stderr).toContain('--business-type');
    const scheme = await run(['upload', 'ftp://host/a.mp4']);
    expect(scheme.code).toBe(2);
    const badType = await run(['upload', 'a.mp4', '--type', 'movie']);
    expect(badType.code).toBe(2);
    expect(server.requests).toHaveLength(0);
  });

  it('shows the API validation error with the offending fields (exit 3)', async () => {
    const { code, stderr } = await run(['upload', 'a.mp4', '--title', 'x'.repeat(200)]);
    expect(code).toBe(3);
    expect(stderr).toContain('VALIDATION_FAILED (HTTP 400)');
    expect(stderr).toContain('media.title');
  });

  it('--wait prints plain progress lines when not on a terminal, and exits 0 on success', async () => {
    const { run: r, id } = await startWaiting(['movie.mp4']);
    server.setProgress(id, {
      uploadedBytes: 5 * 1024 * 1024,
      totalBytes: 10 * 1024 * 1024,
      percent: 50,
      bytesPerSecond: 1024 * 1024,
    });
    server.finish(id, 'succeeded', {
      result: {
        mediaId: 'm-1',
        mediaType: 'video',
        bucket: 'b',
        objectKey: 'k.mp4',
        size: 10 * 1024 * 1024,
        crc64: '1',
        url: null,
      },
    });
    const { code, stdout } = await r.done;
    expect(code).toBe(0);
    expect(stdout).toContain(`job ${id} queued\nqueued: 0 B / ?\nrunning: 0 B / ?\n`);
    expect(stdout).toContain('succeeded: 5.0 MiB / 10.0 MiB (50.0%) at 1.0 MiB/s, ETA 5s');
    expect(stdout).toMatch(/result:\s+mediaId m-1/);
  });

  it('--wait exits 1 with the error code when the job fails or is canceled', async () => {
    const failed = await startWaiting(['missing.mp4']);
    server.finish(failed.id, 'failed', {
      error: { code: 'SOURCE_NOT_FOUND', message: 'no such file', retryable: false },
    });
    const f = await failed.run.done;
    expect(f.code).toBe(1);
    expect(f.stderr).toContain(`job ${failed.id} failed: SOURCE_NOT_FOUND (no such file)`);

    await server.close();
    server = await startContractServer({ tokens: { [TOKEN]: 'svc-cli' } });
    const canceled = await startWaiting(['c.mp4', '--json']);
    const byOther = await run(['cancel', canceled.id]);
    expect(byOther.code).toBe(0);
    const c = await canceled.run.done;
    expect(c.code).toBe(1);
    expect(JSON.parse(c.stdout)).toMatchObject({ id: canceled.id, status: 'canceled' });
    expect(c.stderr).toContain('canceled: CANCELED');
  });

  it('--wait draws a live bar on a terminal', async () => {
    if (spawnSync('script', ['--version']).status !== 0) return; // util-linux `script` provides the pty
    const env = { ...process.env, MEDIAFERRY_URL: server.url, MEDIAFERRY_TOKEN: TOKEN };
    const child = spawn(
      'script',
      ['-qfec', `${process.execPath} ${MAIN} upload tty.mp4 --wait`, '/dev/null'],
      {
        cwd: cwd.path,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (d) => {
      output += String(d);
    });
    const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
    await server.waitForRequest('POST /v1/jobs');
    const id = server.jobs()[0]!.id;
    await server.waitForSubscriber(id);
    server.setProgress(id, { uploadedBytes: 1024, totalBytes: 4096, percent: 25, bytesPerSecond: 512 });
    server.finish(id, 'succeeded');
    expect(await closed).toBe(0);
    expect(output).toMatch(/\[=+-+\]/);
    expect(output).toContain('1.0 KiB / 4.0 KiB');
    expect(output).toContain('512 B/s');
  });
});

describe('mediaferry jobs / job / cancel / retry', () => {
  it('lists, shows, cancels and retries jobs', async () => {
    await run(['upload', 'one.mp4']);
    await run(['upload', 'two.mp4']);
    const [first, second] = server.jobs();
    server.finish(first!.id, 'failed', {
      error: { code: 'SOURCE_CHANGED', message: 'changed', retryable: false },
    });

    const list = await run(['jobs']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^ID\s+STATUS/);
    expect(list.stdout).toContain(`failed (SOURCE_CHANGED)`);
    expect(list.stdout).toContain(second!.id);

    const failedOnly = await run(['jobs', '--status', 'failed', '--json']);
    expect(JSON.parse(failedOnly.stdout).jobs.map((j: { id: string }) => j.id)).toEqual([first!.id]);

    const paged = await run(['jobs', '--limit', '1']);
    expect(paged.stdout).toMatch(/more: mediaferry jobs --cursor job_/);

    const shown = await run(['job', second!.id]);
    expect(shown.stdout).toMatch(/source:\s+file .*two\.mp4/);

    expect((await run(['retry', first!.id])).stdout).toMatch(/status:\s+queued/);
    expect((await run(['cancel', second!.id, '--json'])).stdout).toContain('"status": "canceled"');
  });

  it('exits 3 with the API error code for unknown jobs and refused retries', async () => {
    const missing = await run(['job', 'job_00000000000000000000000000']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('NOT_FOUND (HTTP 404)');
    await run(['upload', 'q.mp4']);
    const conflict = await run(['retry', server.jobs()[0]!.id]);
    expect(conflict.code).toBe(3);
    expect(conflict.stderr).toContain('CONFLICT (HTTP 409)');
  });

  it('needs MEDIAFERRY_TOKEN, and never prints a wrong one', async () => {
    const none = await run(['jobs'], { MEDIAFERRY_TOKEN: undefined });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('MEDIAFERRY_TOKEN is not set');
    const wrong = await run(['jobs'], { MEDIAFERRY_TOKEN: 'wrong-token-d00d' });
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toContain('UNAUTHORIZED');
    expect(wrong.stdout + wrong.stderr).not.toContain('wrong-token-d00d');
  });

  it('reports an unreachable API as a network error (exit 3)', async () => {
    const url = server.url;
    await server.close();
    server = await startContractServer();
    const { code, stderr } = await run(['jobs'], { MEDIAFERRY_URL: url });
    expect(code).toBe(3);
    expect(stderr).toContain(`could not reach the mediaferry API at ${url}`);
  });
});
