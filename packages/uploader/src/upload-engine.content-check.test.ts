import { randomBytes } from 'node:crypto';
import { AbortError, SourceChangedError } from '@mediaferry/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { abortAfterBytes, EngineFixture, MiB, md5 } from './test-support/engine-fixture.js';
import type { MediaServer } from './test-support/media-server.js';

/**
 * Sources whose identity cannot vouch for their bytes (URLs without ETag or Last-Modified, streams
 * that cannot seek): bytes read again are checked against the CRCs recorded before, so an object is
 * never spliced from two different responses (review F1), across runs or within one.
 */
let fx: EngineFixture;
beforeAll(async () => {
  fx = await EngineFixture.start();
});
afterAll(() => fx.close());
afterEach(() => fx.emu.admin.resetFaults());

/** A generated export: no validators; `ranges` says whether it honours Range. */
async function exportServer(data: Buffer, ranges: boolean): Promise<MediaServer> {
  const server = await fx.mediaServer(data);
  server.validators = false;
  server.ranges = ranges;
  server.chunked = !ranges;
  return server;
}

/** Runs until 1 MiB was read, then stops (a worker shut down mid-upload): a checkpoint with parts. */
async function interrupted(uploadKey: string, server: MediaServer, key: string): Promise<void> {
  const ac = new AbortController();
  const first = fx.engine().run({
    uploadKey,
    source: abortAfterBytes(fx.urlSource(server.url), MiB, ac),
    target: fx.ossTarget(key),
    signal: ac.signal,
  });
  await expect(first).rejects.toBeInstanceOf(AbortError);
  expect((await fx.store().get(uploadKey))!.parts.length).toBeGreaterThan(0);
}

describe('UploadEngine: content checks for sources without validators', () => {
  for (const ranges of [false, true]) {
    const kind = ranges ? 'seekable' : 'non-seekable';

    it(`a ${kind} export whose bytes changed between runs is uploaded whole from the new response`, async () => {
      const a = randomBytes(2 * MiB);
      const b = randomBytes(2 * MiB);
      const server = await exportServer(a, ranges);
      const key = `dir/export-changed-${kind}.mp4`;
      await interrupted(`export-changed-${kind}`, server, key);
      server.data = b;
      const result = await fx.engine().run({
        uploadKey: `export-changed-${kind}`,
        source: fx.urlSource(server.url),
        target: fx.ossTarget(key),
      });
      const back = await fx.readBack(result.destination.bucket, key);
      expect(back.md5).toBe(md5(b));
      expect(back.crc64).toBe(result.crc64);
      // The first run's multipart upload was aborted, not left behind.
      expect((await fx.emu.admin.listUploads(fx.emu.buckets[0]!)).filter((u) => u.key === key)).toEqual([]);
    });

    it(`a ${kind} export with unchanged bytes resumes without uploading the kept parts again`, async () => {
      const a = randomBytes(2 * MiB);
      const server = await exportServer(a, ranges);
      const key = `dir/export-same-${kind}.mp4`;
      await interrupted(`export-same-${kind}`, server, key);
      const result = await fx.engine().run({
        uploadKey: `export-same-${kind}`,
        source: fx.urlSource(server.url),
        target: fx.ossTarget(key),
      });
      expect(result.skippedBytes).toBeGreaterThan(0);
      expect(result.uploadedBytes).toBe(a.length - result.skippedBytes);
      // Nothing vouches for a Range answer's bytes: the skipped ones were read again from byte 0.
      expect(server.gets.every((g) => g.range === undefined)).toBe(true);
      expect((await fx.readBack(result.destination.bucket, key)).md5).toBe(md5(a));
    });
  }

  it('a reopen after a dropped connection that reads other bytes fails with SOURCE_CHANGED', async () => {
    const server = await exportServer(randomBytes(2 * MiB), true);
    server.dropAfter = 700 * 1024;
    server.dropTimes = 1;
    const key = 'dir/export-reopen-changed.mp4';
    const run = fx
      .engine({
        // The source read is retried: the generator now produces other bytes.
        events: {
          onPartRetry: () => {
            server.data = randomBytes(2 * MiB);
          },
        },
      })
      .run({
        uploadKey: 'export-reopen-changed',
        source: fx.urlSource(server.url),
        target: fx.ossTarget(key),
      });
    await expect(run).rejects.toBeInstanceOf(SourceChangedError);
    expect(await fx.store().get('export-reopen-changed')).toBeNull();
    expect((await fx.emu.admin.listUploads(fx.emu.buckets[0]!)).filter((u) => u.key === key)).toEqual([]);
  });

  it('a reopen after a dropped connection that reads the same bytes carries on', async () => {
    const data = randomBytes(2 * MiB + 5);
    const server = await exportServer(data, true);
    server.dropAfter = 700 * 1024;
    server.dropTimes = 2;
    const result = await fx
      .engine()
      .run({ uploadKey: 'export-reopen-same', source: fx.urlSource(server.url), target: fx.ossTarget() });
    expect(server.gets).toHaveLength(3);
    expect((await fx.readBack(result.destination.bucket, result.destination.objectKey)).md5).toBe(md5(data));
  });
});

describe('UploadEngine: a stream whose size becomes known on resume (review F10)', () => {
  it('resumes (same strong ETag, same bytes) instead of failing with SOURCE_CHANGED', async () => {
    const data = randomBytes(2 * MiB + 123);
    const server = await fx.mediaServer(data);
    server.chunked = true;
    const ac = new AbortController();
    const first = fx.engine().run({
      uploadKey: 'job-size-known',
      source: abortAfterBytes(fx.urlSource(server.url), MiB, ac),
      target: fx.ossTarget('dir/size-known.mp4'),
      signal: ac.signal,
    });
    await expect(first).rejects.toBeInstanceOf(AbortError);
    server.chunked = false;
    const result = await fx.engine().run({
      uploadKey: 'job-size-known',
      source: fx.urlSource(server.url),
      target: fx.ossTarget('dir/size-known.mp4'),
    });
    expect(result.skippedBytes).toBeGreaterThan(0);
    expect((await fx.readBack(result.destination.bucket, result.destination.objectKey)).md5).toBe(md5(data));
  });
});
