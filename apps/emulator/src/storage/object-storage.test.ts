import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../emulator.js';
import { ossForAccount, testData, uploadPartBuffer } from '../test-support/clients.js';
import { parseRange, readSegments } from './object-reader.js';

describe('parseRange', () => {
  it.each([
    ['bytes=0-9', 100, { start: 0, end: 9 }],
    ['bytes=90-', 100, { start: 90, end: 99 }],
    ['bytes=-10', 100, { start: 90, end: 99 }],
    ['bytes=-1000', 100, { start: 0, end: 99 }],
    ['bytes=50-1000', 100, { start: 50, end: 99 }],
    ['bytes=100-', 100, 'unsatisfiable'],
    ['bytes=9-3', 100, undefined],
    ['bytes=0-1,5-6', 100, undefined],
    ['items=0-1', 100, undefined],
    [undefined, 100, undefined],
  ] as const)('%s of %i bytes → %j', (header, size, expected) => {
    expect(parseRange(header, size)).toEqual(expected);
  });
});

describe('readSegments', () => {
  it('reads any range across several files', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mf-segments-'));
    try {
      const data = testData(1000);
      const cuts = [0, 100, 100, 350, 1000]; // includes an empty segment
      const segments = [];
      for (let i = 0; i < cuts.length - 1; i++) {
        const file = path.join(dir, `s${i}`);
        await writeFile(file, data.subarray(cuts[i], cuts[i + 1]));
        segments.push({ file, size: cuts[i + 1]! - cuts[i]! });
      }
      for (const [start, end] of [
        [0, 999],
        [99, 100],
        [100, 349],
        [349, 350],
        [500, 500],
        [0, 0],
      ] as const) {
        const chunks: Buffer[] = [];
        for await (const c of readSegments(segments, start, end)) chunks.push(c);
        expect(Buffer.concat(chunks).equals(data.subarray(start, end + 1))).toBe(true);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('object files on disk', () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startEmulator({ ossSignatures: 'v4-only' });
  });
  afterAll(async () => {
    await emu?.close();
  });

  async function blobFiles(): Promise<string[]> {
    const root = path.join(emu.dataDir, 'blobs');
    const [instance] = await readdir(root);
    return (await readdir(path.join(root, instance!))).sort();
  }

  it('keeps exactly the files objects and live uploads use (no leaks after overwrite, abort, complete)', async () => {
    const oss = ossForAccount(emu, 'mediaferry-local');
    await Promise.all(Array.from({ length: 6 }, (_, i) => oss.put(`files/put-${i % 3}`, testData(1000, i))));
    const kept = await oss.initMultipartUpload('files/mp');
    const p1 = await uploadPartBuffer(oss, 'files/mp', kept.uploadId, 1, testData(100 * 1024, 1));
    // Concurrent writes of one part number: one wins, the other's file is dropped.
    await Promise.all(
      [2, 3].map((seed) => uploadPartBuffer(oss, 'files/mp', kept.uploadId, 2, testData(5000, seed))),
    );
    await uploadPartBuffer(oss, 'files/mp', kept.uploadId, 3, testData(10, 3)); // not listed at Complete
    const aborted = await oss.initMultipartUpload('files/gone');
    await uploadPartBuffer(oss, 'files/gone', aborted.uploadId, 1, testData(10));
    await oss.abortMultipartUpload('files/gone', aborted.uploadId);
    const pending = await oss.initMultipartUpload('files/pending');
    await uploadPartBuffer(oss, 'files/pending', pending.uploadId, 1, testData(10));
    const parts = await emu.admin.listUploads('mediaferry-local');
    const p2 = parts.find((u) => u.uploadId === kept.uploadId)!.parts.find((p) => p.partNumber === 2)!;
    await oss.completeMultipartUpload('files/mp', kept.uploadId, [
      { number: 1, etag: p1.etag },
      { number: 2, etag: p2.etag },
    ]);
    // 3 objects from puts + 2 part files of the multipart object + 1 pending part.
    const files = await blobFiles();
    expect(files.length).toBe(6);
    expect(files.every((f) => f.endsWith('.blob'))).toBe(true);
    await oss.delete('files/mp');
    expect((await blobFiles()).length).toBe(4);
  });

  it('a GET in flight survives an overwrite of its object (part files stay until the reader is done)', async () => {
    const oss = ossForAccount(emu, 'mediaferry-local');
    const key = 'files/live';
    const partSize = 256 * 1024;
    const original = testData(4 * partSize, 1);
    const { uploadId } = await oss.initMultipartUpload(key);
    const parts = [];
    for (let n = 1; n <= 4; n++) {
      const slice = original.subarray((n - 1) * partSize, n * partSize);
      parts.push({ number: n, etag: (await uploadPartBuffer(oss, key, uploadId, n, slice)).etag });
    }
    await oss.completeMultipartUpload(key, uploadId, parts);
    // 1 MiB at 512 KiB/s: the later part files are opened long after the overwrite below.
    await emu.admin.throttle(512 * 1024);
    try {
      const reading = oss.get(key);
      await new Promise((r) => setTimeout(r, 300));
      await oss.put(key, testData(10, 2));
      expect((await reading).content.equals(original)).toBe(true);
    } finally {
      await emu.admin.throttle(null);
    }
    expect((await oss.get(key)).content.length).toBe(10);
  });
});
