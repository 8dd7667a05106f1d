import { randomBytes } from 'node:crypto';
import { AbortError, SourceChangedError, SourceTooLargeError } from '@mediaferry/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MIN_PART_SIZE } from './part-planner.js';
import { delegateTarget } from './test-support/delegate-target.js';
import { abortAfterBytes, EngineFixture, KiB, MiB, md5 } from './test-support/engine-fixture.js';

/** URL sources (real HTTP servers that misbehave) through the engine into the emulator. */
let fx: EngineFixture;
beforeAll(async () => {
  fx = await EngineFixture.start();
});
afterAll(() => fx.close());
afterEach(() => fx.emu.admin.resetFaults());

const PART = 128 * KiB;

describe('UploadEngine with URL sources', () => {
  it('reopens at the right offset (Range) when the connection drops mid-body', async () => {
    const data = randomBytes(3 * MiB + 99);
    const server = await fx.mediaServer(data);
    server.dropAfter = 700 * KiB;
    server.dropTimes = 2;
    const reasons: string[] = [];
    const result = await fx.engine({ events: { onPartRetry: (e) => reasons.push(e.reason) } }).run({
      uploadKey: 'url-drop',
      source: fx.urlSource(server.url),
      target: fx.ossTarget(),
    });
    expect(reasons.filter((r) => r === 'source')).toHaveLength(2);
    const ranges = server.gets.map((g) => g.range);
    expect(ranges.slice(1).every((r) => r !== undefined && /^bytes=\d+-$/.test(r))).toBe(true);
    expect((await fx.readBack(result.destination.bucket, result.destination.objectKey)).md5).toBe(md5(data));
  });

  it('resumes from a server that ignores Range (skips the bytes already uploaded)', async () => {
    const data = randomBytes(3 * MiB);
    const server = await fx.mediaServer(data);
    server.ranges = false;
    const target = fx.ossTarget();
    const ac = new AbortController();
    const first = fx.engine().run({
      uploadKey: 'url-norange',
      source: abortAfterBytes(fx.urlSource(server.url), MiB, ac),
      target,
      signal: ac.signal,
    });
    await expect(first).rejects.toBeInstanceOf(AbortError);
    const result = await fx
      .engine()
      .run({ uploadKey: 'url-norange', source: fx.urlSource(server.url), target });
    expect(result.resumed).toBe(true);
    expect(result.skippedBytes).toBeGreaterThan(0);
    expect((await fx.readBack(result.destination.bucket, result.destination.objectKey)).md5).toBe(md5(data));
  });

  it('fails with SOURCE_CHANGED when the content changes between attempts, dropping the upload', async () => {
    const data = randomBytes(2 * MiB);
    const server = await fx.mediaServer(data);
    const target = fx.ossTarget();
    const ac = new AbortController();
    const first = fx.engine().run({
      uploadKey: 'url-changed',
      source: abortAfterBytes(fx.urlSource(server.url), 600 * KiB, ac),
      target,
      signal: ac.signal,
    });
    await expect(first).rejects.toBeInstanceOf(AbortError);
    const cp = await fx.store().get('url-changed');
    server.data = randomBytes(data.length); // same size, new ETag
    const second = fx.engine().run({ uploadKey: 'url-changed', source: fx.urlSource(server.url), target });
    await expect(second).rejects.toMatchObject({ code: 'SOURCE_CHANGED' });
    await expect(second).rejects.toBeInstanceOf(SourceChangedError);
    expect(await fx.store().get('url-changed')).toBeNull();
    const uploads = await fx.emu.admin.listUploads(cp!.destination!.bucket);
    expect(uploads.map((u) => u.uploadId)).not.toContain(cp!.uploadId);
  });

  it('fails with SOURCE_CHANGED when the content changes during the transfer', async () => {
    const data = randomBytes(2 * MiB);
    const server = await fx.mediaServer(data);
    server.dropAfter = 300 * KiB;
    server.dropTimes = 1;
    const engine = fx.engine({
      events: {
        onPartRetry: () => {
          server.data = randomBytes(data.length);
        },
      },
    });
    const run = engine.run({
      uploadKey: 'url-changing',
      source: fx.urlSource(server.url),
      target: fx.ossTarget(),
    });
    await expect(run).rejects.toBeInstanceOf(SourceChangedError);
    expect(await fx.store().get('url-changing')).toBeNull();
  });

  it('uploads a stream of unknown length with growing parts, and resumes it', async () => {
    const data = randomBytes(3 * MiB + 5);
    const server = await fx.mediaServer(data);
    server.chunked = true;
    const target = fx.ossTarget();
    // 100 KiB parts cannot hold 2 GiB in 10,000 parts: the plan steps sizes up.
    const options = { partSize: MIN_PART_SIZE, maxSourceBytes: 2 * 1024 * MiB };
    const ac = new AbortController();
    const first = fx.engine(options).run({
      uploadKey: 'url-stream',
      source: abortAfterBytes(fx.urlSource(server.url), MiB, ac),
      target,
      signal: ac.signal,
    });
    await expect(first).rejects.toBeInstanceOf(AbortError);
    const cp = await fx.store().get('url-stream');
    expect(cp).toMatchObject({ totalSize: null, plan: { kind: 'growing', initialPartSize: MIN_PART_SIZE } });
    const seen: (number | null)[] = [];
    const result = await fx.engine(options).run({
      uploadKey: 'url-stream',
      source: fx.urlSource(server.url),
      target,
      onProgress: (p) => seen.push(p.totalBytes),
    });
    expect(result.size).toBe(data.length);
    expect(seen[0]).toBeNull();
    expect(seen.at(-1)).toBe(data.length);
    expect((await fx.readBack(result.destination.bucket, result.destination.objectKey)).md5).toBe(md5(data));
  });

  it('refuses a stream longer than maxSourceBytes', async () => {
    const server = await fx.mediaServer(randomBytes(MiB));
    server.chunked = true;
    const run = fx
      .engine({ partSize: PART, maxSourceBytes: 600 * KiB })
      .run({ uploadKey: 'url-too-large', source: fx.urlSource(server.url), target: fx.ossTarget() });
    await expect(run).rejects.toBeInstanceOf(SourceTooLargeError);
    expect(await fx.store().get('url-too-large')).toBeNull();
  });

  it('knows a stream that ended on a part boundary is complete when it resumes after complete', async () => {
    const data = randomBytes(4 * PART);
    const server = await fx.mediaServer(data);
    server.chunked = true;
    const key = 'dir/boundary.mp4';
    const real = fx.ossTarget(key);
    // The worker dies between CompleteMultipartUpload and dropping the checkpoint.
    const ac = new AbortController();
    const dying = delegateTarget(real, {
      complete: async (uploadId, parts, signal) => {
        const done = await real.complete(uploadId, parts, signal);
        ac.abort(new Error('worker died'));
        return done;
      },
    });
    const first = fx
      .engine()
      .run({ uploadKey: 'url-boundary', source: fx.urlSource(server.url), target: dying, signal: ac.signal });
    await expect(first).rejects.toBeInstanceOf(AbortError);
    expect((await fx.store().get('url-boundary'))?.streamParts).toBe(4);
    const result = await fx
      .engine()
      .run({ uploadKey: 'url-boundary', source: fx.urlSource(server.url), target: fx.ossTarget(key) });
    expect({ uploaded: result.uploadedBytes, skipped: result.skippedBytes }).toEqual({
      uploaded: 0,
      skipped: data.length,
    });
    expect((await fx.readBack(result.destination.bucket, key)).md5).toBe(md5(data));
  });
});
