import { execFile, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { makeTempDir, type TempDir } from '@mediaferry/testkit';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EmulatorAdminClient } from './admin/admin-client.js';
import type { Emulator } from './emulator.js';
import { callVod, ossForAccount, testData, vodClient } from './test-support/clients.js';

const PKG = path.resolve(import.meta.dirname, '..');
const MAIN = path.join(PKG, 'dist', 'main.js');

/** The process test runs the built entry point; rebuild it when a source file is newer. */
async function ensureBuilt(): Promise<void> {
  const newest = async (dir: string): Promise<number> => {
    let t = 0;
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.name.endsWith('.test.ts') || e.name === 'test-support') continue; // not built
      t = Math.max(t, e.isDirectory() ? await newest(p) : statSync(p).mtimeMs);
    }
    return t;
  };
  if (existsSync(MAIN) && statSync(MAIN).mtimeMs >= (await newest(path.join(PKG, 'src')))) return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  await promisify(execFile)(process.execPath, [tsc, '-p', path.join(PKG, 'tsconfig.build.json')]);
}

function run(env: Record<string, string>) {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += String(d);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const firstLine = new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', resolve);
    exited.then((code) => reject(new Error(`exited ${code}: ${stderr}`)));
  });
  firstLine.catch(() => {}); // a test that expects an early exit never reads it
  return { child, exited, firstLine, stderr: () => stderr };
}

describe('node apps/emulator/dist/main.js', () => {
  let dir: TempDir | undefined;
  beforeAll(ensureBuilt, 120_000);
  afterEach(async () => {
    await dir?.remove();
  });

  it('prints its endpoints (no secrets), serves VOD + admin, exits 0 on SIGTERM', async () => {
    dir = await makeTempDir();
    const p = run({
      EMULATOR_PORT: '0',
      BIND_HOST: '127.0.0.1',
      EMULATOR_DATA_DIR: dir.path,
      EMULATOR_ACCESS_KEY_SECRET: 'very-secret-value',
      EMULATOR_BUCKETS: 'media-a,media-b',
      EMULATOR_OSS_SIGNATURES: 'v4-only',
      LOG_LEVEL: 'silent',
    });
    try {
      const line = await p.firstLine;
      expect(line).not.toContain('very-secret-value');
      const info = JSON.parse(line);
      expect(info).toMatchObject({
        buckets: ['media-a', 'media-b'],
        region: 'cn-shanghai',
        ossSignatures: 'v4-only',
        dataDir: dir.path,
      });
      expect(info.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(info.vodBucket).toMatch(/^outin-[0-9a-f]{32}$/);
      const token = (await readFile(info.adminTokenFile, 'utf8')).trim();
      expect(line).not.toContain(token);
      const admin = new EmulatorAdminClient(info.url, token);
      expect(await admin.buckets()).toEqual([info.vodBucket, 'media-a', 'media-b']);
      const emu = {
        ...info,
        accessKeyId: 'emulator-access-key-id',
        accessKeySecret: 'very-secret-value',
      } as Emulator;
      const created = await callVod(vodClient(emu), 'CreateUploadVideo', { Title: 'p', FileName: 'p.mp4' });
      expect((await admin.media(created.VideoId)).status).toBe('Uploading');
    } finally {
      p.child.kill('SIGTERM');
    }
    expect(await p.exited).toBe(0);
  });

  it('after SIGKILL, a new process on the same data dir has what the last snapshot held', async () => {
    dir = await makeTempDir();
    const env = {
      EMULATOR_PORT: '0',
      BIND_HOST: '127.0.0.1',
      EMULATOR_DATA_DIR: dir.path,
      EMULATOR_ADMIN_TOKEN: 'restart-admin-token',
      EMULATOR_OSS_SIGNATURES: 'v4-only',
      LOG_LEVEL: 'silent',
    };
    const account = { accessKeyId: 'emulator-access-key-id', accessKeySecret: 'emulator-access-key-secret' };
    const first = run(env);
    const info1 = JSON.parse(await first.firstLine);
    const emu1 = { ...info1, ...account } as Emulator;
    const created = await callVod(vodClient(emu1), 'CreateUploadVideo', { Title: 'k', FileName: 'k.mp4' });
    await ossForAccount(emu1, 'mediaferry-local').put('crash/kept.bin', testData(4096, 3));
    // Wait for the batched snapshot (no flush: a SIGKILL gives the process no chance to write).
    const stateFile = path.join(dir.path, 'state.json');
    const saved = async () => {
      const text = existsSync(stateFile) ? await readFile(stateFile, 'utf8') : '';
      return text.includes(created.VideoId) && text.includes('crash/kept.bin');
    };
    await expect.poll(saved).toBe(true);
    first.child.kill('SIGKILL');
    await first.exited;

    const second = run(env);
    try {
      const info2 = JSON.parse(await second.firstLine);
      expect(info2.vodBucket).toBe(info1.vodBucket);
      const emu2 = { ...info2, ...account } as Emulator;
      const admin = new EmulatorAdminClient(info2.url, 'restart-admin-token');
      expect((await admin.media(created.VideoId)).status).toBe('Uploading');
      const got = await ossForAccount(emu2, 'mediaferry-local').get('crash/kept.bin');
      expect(Buffer.compare(got.content as Buffer, testData(4096, 3))).toBe(0);
    } finally {
      second.child.kill('SIGTERM');
    }
    expect(await second.exited).toBe(0);
  });

  it('exits non-zero naming the bad variable', async () => {
    const p = run({
      EMULATOR_PORT: 'eighty',
      EMULATOR_BUCKETS: 'Not_A_Bucket',
      EMULATOR_OSS_SIGNATURES: 'v1',
    });
    expect(await p.exited).toBe(78);
    expect(p.stderr()).toContain('EMULATOR_PORT');
    expect(p.stderr()).toContain('EMULATOR_BUCKETS');
    expect(p.stderr()).toContain('EMULATOR_OSS_SIGNATURES');
  });
});
