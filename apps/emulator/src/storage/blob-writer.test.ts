import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { crc64 } from '@mediaferry/crc64';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testData } from '../test-support/clients.js';
import { BlobTooLargeError, IncompleteBodyError, writeBlob } from './blob-writer.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** `data` cut into the given chunk sizes (cycled), as a request body would arrive. */
async function* chunked(data: Buffer, sizes: number[]): AsyncGenerator<Buffer> {
  for (let offset = 0, i = 0; offset < data.length; i++) {
    const n = Math.min(sizes[i % sizes.length]!, data.length - offset);
    // A copy, as the HTTP parser hands out: the writer may hold it after the next chunk arrives.
    yield Buffer.from(data.subarray(offset, offset + n));
    offset += n;
    if (i % 7 === 0) await new Promise((r) => setImmediate(r));
  }
}

describe('writeBlob', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mf-blob-writer-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['many tiny chunks (more than one writev can take)', 200 * KiB, [1, 7, 100, 3]],
    ['socket-sized chunks', 5 * MiB, [64 * KiB, 17 * KiB]],
    ['chunks larger than a write batch', 7 * MiB, [3 * MiB + 5]],
  ])('keeps every byte in order: %s', async (_name, size, sizes) => {
    const data = testData(size, 11);
    const blob = await writeBlob(chunked(data, sizes), dir, { md5: true, maxBytes: 64 * MiB });
    expect(blob.size).toBe(data.length);
    expect((await readFile(blob.file)).equals(data)).toBe(true);
    expect(blob.crc64).toBe(crc64(data));
    expect(blob.md5?.equals(createHash('md5').update(data).digest())).toBe(true);
    expect(await readdir(dir)).toEqual([path.basename(blob.file)]);
  });

  it('skips the MD5 when not asked, never the CRC-64', async () => {
    const data = testData(300 * KiB, 3);
    const blob = await writeBlob(chunked(data, [64 * KiB]), dir, { md5: false, maxBytes: MiB });
    expect(blob.md5).toBeUndefined();
    expect(blob.crc64).toBe(crc64(data));
  });

  it('refuses a body over the limit and a short one, leaving no file behind', async () => {
    const data = testData(3 * MiB, 5);
    await expect(
      writeBlob(chunked(data, [64 * KiB]), dir, { md5: false, maxBytes: 2 * MiB }),
    ).rejects.toThrow(BlobTooLargeError);
    await expect(
      writeBlob(chunked(data, [64 * KiB]), dir, { md5: false, maxBytes: 4 * MiB, expectedLength: 4 * MiB }),
    ).rejects.toThrow(IncompleteBodyError);
    expect(await readdir(dir)).toEqual([]);
  });

  it('removes the temp file when the body fails midway', async () => {
    async function* failing(): AsyncGenerator<Buffer> {
      yield* chunked(testData(2 * MiB, 2), [64 * KiB]);
      throw new Error('connection reset');
    }
    await expect(writeBlob(failing(), dir, { md5: false, maxBytes: 8 * MiB })).rejects.toThrow(
      'connection reset',
    );
    expect(await readdir(dir)).toEqual([]);
  });
});
