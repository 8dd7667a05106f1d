import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir } from '@mediaferry/testkit';
import { describe, expect, it } from 'vitest';
import { startEmulator } from './emulator.js';
import { bucketFromHost } from './server.js';

describe('startEmulator lifecycle', () => {
  it('removes the temp data dir it made; close() is idempotent', async () => {
    const emu = await startEmulator();
    expect(existsSync(emu.dataDir)).toBe(true);
    expect(emu.url).toBe(`http://127.0.0.1:${emu.port}`);
    expect(emu.vodEndpoint).toBe(`127.0.0.1:${emu.port}`);
    await Promise.all([emu.close(), emu.close()]);
    await emu.close();
    expect(existsSync(emu.dataDir)).toBe(false);
    await expect(fetch(`${emu.url}/__emulator/health`)).rejects.toThrow();
  });

  it('keeps a data dir it was given, with its state and object files', async () => {
    const dir = await makeTempDir();
    try {
      const emu = await startEmulator({
        dataDir: dir.path,
        adminToken: 'fixed-admin-token',
        vodBucket: 'outin-test',
      });
      expect(emu.adminToken).toBe('fixed-admin-token');
      expect(emu.vodBucket).toBe('outin-test');
      expect(await readdir(path.join(dir.path, 'blobs'))).toEqual(['persistent']);
      await emu.close();
      expect(existsSync(dir.path)).toBe(true);
      expect(await readdir(path.join(dir.path, 'blobs'))).toEqual(['persistent']);
      expect((await readdir(dir.path)).sort()).toEqual(['blobs', 'state.json']);
    } finally {
      await dir.remove();
    }
  });

  it('refuses bad options and a port in use', async () => {
    await expect(startEmulator({ buckets: ['Bad_Name'] })).rejects.toThrow(/bucket/);
    await expect(startEmulator({ credentialTtlSeconds: 0 })).rejects.toThrow(/credentialTtlSeconds/);
    const emu = await startEmulator();
    try {
      await expect(startEmulator({ port: emu.port })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await emu.close();
    }
  });
});

describe('bucketFromHost', () => {
  const known = (b: string) => b === 'mediaferry-local';
  it.each([
    ['outin-abc.oss-cn-shanghai.aliyuncs.com', 'outin-abc'],
    ['outin-abc.cn-shanghai.aliyuncs.com', 'outin-abc'],
    ['mediaferry-local.localhost:9000', 'mediaferry-local'],
    ['mediaferry-local.emulator.internal:9000', 'mediaferry-local'],
    ['emulator.internal:9000', undefined],
    ['127.0.0.1:9000', undefined],
    ['[::1]:9000', undefined],
    ['localhost:9000', undefined],
    ['vod.aliyuncs.com', undefined],
    [undefined, undefined],
  ])('%s → %s', (host, bucket) => {
    expect(bucketFromHost(host, known)).toBe(bucket);
  });
});
