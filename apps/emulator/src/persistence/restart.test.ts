import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir, type TempDir } from '@mediaferry/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../emulator.js';
import { ObjectStore } from '../storage/object-store.js';
import {
  callVod,
  createVideo,
  listParts,
  ossForAccount,
  ossForUpload,
  testData,
  uploadPartBuffer,
  vodClient,
} from '../test-support/clients.js';

describe('state across a restart on the same data dir', () => {
  let dir: TempDir;
  const running: Emulator[] = [];
  const start = async () => {
    const emu = await startEmulator({ dataDir: dir.path, ossSignatures: 'v4-only' });
    running.push(emu);
    return emu;
  };
  beforeEach(async () => {
    dir = await makeTempDir();
  });
  afterEach(async () => {
    for (const emu of running.splice(0)) await emu.close();
    await dir.remove();
  });

  it('keeps media, objects, an open multipart upload and STS credentials', async () => {
    const first = await start();
    const video = await createVideo(first, { Title: 'survivor' });
    const oss1 = ossForUpload(video);
    const { uploadId } = await oss1.initMultipartUpload(video.key);
    const part1 = testData(100 * 1024, 1);
    const p1 = await uploadPartBuffer(oss1, video.key, uploadId, 1, part1);
    const plain = testData(3000, 7);
    await ossForAccount(first, 'mediaferry-local').put('kept/plain.bin', plain);
    await first.close();

    const second = await start();
    expect(second.vodBucket).toBe(first.vodBucket);
    const info = await callVod(vodClient(second), 'GetVideoInfo', { VideoId: video.mediaId });
    expect(info.Video).toMatchObject({ VideoId: video.mediaId, Title: 'survivor', Status: 'Uploading' });
    // The SAME UploadAuth credentials, now against the restarted emulator.
    const oss2 = ossForUpload(video, { endpoint: second.ossEndpoint });
    const listed = await listParts(oss2, video.key, uploadId);
    expect(listed.parts).toMatchObject({ PartNumber: '1', ETag: p1.etag, Size: String(part1.length) });
    const part2 = testData(5000, 2);
    const p2 = await uploadPartBuffer(oss2, video.key, uploadId, 2, part2);
    await oss2.completeMultipartUpload(video.key, uploadId, [
      { number: 1, etag: p1.etag },
      { number: 2, etag: p2.etag },
    ]);
    const got = await oss2.get(video.key);
    expect(Buffer.compare(got.content as Buffer, Buffer.concat([part1, part2]))).toBe(0);
    const done = await callVod(vodClient(second), 'GetVideoInfo', { VideoId: video.mediaId });
    expect(done.Video).toMatchObject({ Status: 'UploadSucc', Size: part1.length + part2.length });
    const kept = await ossForAccount(second, 'mediaferry-local').get('kept/plain.bin');
    expect(Buffer.compare(kept.content as Buffer, plain)).toBe(0);
    await second.close();

    // A third start still sees the completed object, and no part file is left over.
    const third = await start();
    const again = await ossForUpload(video, { endpoint: third.ossEndpoint }).get(video.key);
    expect((again.content as Buffer).length).toBe(part1.length + part2.length);
    expect(await third.admin.listUploads(third.vodBucket)).toEqual([]);
    expect((await readdir(path.join(dir.path, 'blobs', 'persistent'))).length).toBe(3);
  });

  it('refuses a data dir another running emulator holds, and frees it on close', async () => {
    const first = await start();
    await expect(start()).rejects.toThrow(/in use/);
    await first.close();
    expect(existsSync(path.join(dir.path, 'emulator.pid'))).toBe(false);
    await start();
  });

  it('drops records whose files are gone and files no record names (a crash between snapshots)', async () => {
    const first = await start();
    const oss = ossForAccount(first, 'mediaferry-local');
    await oss.put('a', testData(10, 1));
    await oss.put('b', testData(10, 2));
    await first.close();
    const state = JSON.parse(await readFile(path.join(dir.path, 'state.json'), 'utf8'));
    const blobs = path.join(dir.path, 'blobs', 'persistent');
    const fileOfA = state.objects.find((o: { key: string }) => o.key === 'a').segments[0].file;
    await writeFile(path.join(blobs, fileOfA), 'short'); // torn: wrong size
    await writeFile(path.join(blobs, 'orphan.blob'), 'written after the last snapshot');

    const second = await start();
    const oss2 = ossForAccount(second, 'mediaferry-local');
    await expect(oss2.get('a')).rejects.toMatchObject({ status: 404 });
    expect(Buffer.compare((await oss2.get('b')).content as Buffer, testData(10, 2))).toBe(0);
    expect(await readdir(blobs)).toHaveLength(1);
  });
});

describe('a persistent ObjectStore', () => {
  it('keeps a released file until a snapshot that no longer names it is on disk', async () => {
    const dir = await makeTempDir();
    try {
      const store = new ObjectStore(dir.path, ['b'], {}, { persistent: true });
      await store.init();
      const put = async (name: string) => {
        const file = path.join(store.blobDir, name);
        await writeFile(file, 'x');
        const segments = [{ file, size: 1 }];
        store.retain(segments);
        store.putObject({
          bucket: 'b',
          key: 'k',
          size: 1,
          etag: '"E"',
          crc64: 0n,
          contentType: 'application/octet-stream',
          meta: {},
          lastModified: new Date(),
          objectType: 'Normal',
          segments,
        });
        return file;
      };
      const old = await put('old.blob');
      const current = await put('new.blob'); // overwrites: `old` is released
      expect(existsSync(old)).toBe(true); // the snapshot on disk may still name it
      const { committed, objects } = store.snapshot();
      expect(objects.map((o) => o.segments[0]!.file)).toEqual([current]);
      expect(existsSync(old)).toBe(true);
      committed();
      await expect.poll(() => existsSync(old)).toBe(false);
      expect(existsSync(current)).toBe(true);
      await store.destroy();
      expect(existsSync(current)).toBe(true); // persistent: kept on close
    } finally {
      await dir.remove();
    }
  });
});
