import { AbortError, TimeoutError } from '@mediaferry/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RetryReason } from './part-uploader.js';
import type { UploadProgress } from './progress-meter.js';
import {
  abortAfterBytes,
  EngineFixture,
  KiB,
  MiB,
  md5,
  randomBetween,
} from './test-support/engine-fixture.js';

/** The engine against real Redis, the emulator (ali-oss / openapi-core) and real file sources. */
let fx: EngineFixture;
beforeAll(async () => {
  fx = await EngineFixture.start();
});
afterAll(() => fx.close());
afterEach(() => fx.emu.admin.resetFaults());

const PART = 128 * KiB;
const PARALLELISM = 3;

describe('UploadEngine (file → VOD)', () => {
  it('uploads a file into a new VOD media and verifies it end to end', async () => {
    const file = await fx.writeFile(3 * MiB + 777);
    const target = fx.vodTarget();
    const progress: UploadProgress[] = [];
    const uploaded: number[] = [];
    const engine = fx.engine({ events: { onPartUploaded: (e) => uploaded.push(e.bytes) } });
    const store = fx.store();
    const result = await engine.run({
      uploadKey: 'job-happy',
      source: fx.fileSource(file.path),
      target,
      onProgress: (p) => progress.push(p),
    });
    expect(result).toMatchObject({ size: file.data.length, resumed: false, skippedBytes: 0, partRetries: 0 });
    expect(result.uploadedBytes).toBe(file.data.length);
    expect(uploaded).toHaveLength(Math.ceil(file.data.length / PART));
    const back = await fx.readBack(result.destination.bucket, result.destination.objectKey);
    expect(back.md5).toBe(md5(file.data));
    expect(back.crc64).toBe(result.crc64);
    const media = await fx.emu.admin.media(result.destination.mediaId!);
    expect(media.status).toBe('UploadSucc');
    expect(await store.get('job-happy')).toBeNull();
    const last = progress.at(-1)!;
    expect(last).toMatchObject({ bytesUploaded: file.data.length, totalBytes: file.data.length });
    expect(last.partsDone).toBe(last.partsTotal);
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i]!.bytesUploaded).toBeGreaterThanOrEqual(progress[i - 1]!.bytesUploaded);
    }
  });

  it('uploads a file smaller than one part, and an empty file, as a one-part multipart upload', async () => {
    for (const size of [1000, 0]) {
      const file = await fx.writeFile(size);
      const target = fx.ossTarget();
      const result = await fx
        .engine()
        .run({ uploadKey: `job-small-${size}`, source: fx.fileSource(file.path), target });
      const back = await fx.readBack(result.destination.bucket, result.destination.objectKey);
      expect(back.data.equals(file.data)).toBe(true);
      expect(result.size).toBe(size);
    }
  });

  it('resumes after aborts at random byte counts in fresh engines: identical object, one media', async () => {
    const file = await fx.writeFile(6 * MiB + 12_345);
    const title = `resume ${Date.now()}`;
    const key = 'job-resume';
    // Bytes each killed run gets to read (any point, part boundaries or not); the file is larger than all.
    const cuts = [randomBetween(1, MiB), randomBetween(PART, MiB), randomBetween(1, 2 * MiB)];
    for (const cut of cuts) {
      const ac = new AbortController();
      const run = fx.engine().run({
        uploadKey: key,
        source: abortAfterBytes(fx.fileSource(file.path), cut, ac),
        target: fx.vodTarget({ type: 'video', title }),
        signal: ac.signal,
      });
      await expect(run).rejects.toBeInstanceOf(AbortError);
    }
    // What the server holds now vs what the next engine skips: at most `parallelism` parts re-sent.
    const cp = await fx.store().get(key);
    expect(cp?.uploadId).toBeTruthy();
    const onServer = (await fx.emu.admin.listUploads(cp!.destination!.bucket)).find(
      (u) => u.uploadId === cp!.uploadId,
    );
    const serverBytes = onServer!.parts.reduce((n, p) => n + p.size, 0);
    const resumes: number[] = [];
    const result = await fx.engine({ events: { onResume: (e) => resumes.push(e.skippedBytes) } }).run({
      uploadKey: key,
      source: fx.fileSource(file.path),
      target: fx.vodTarget({ type: 'video', title }),
    });
    expect(result.resumed).toBe(true);
    expect(resumes).toEqual([result.skippedBytes]);
    expect(serverBytes - result.skippedBytes).toBeLessThanOrEqual(PARALLELISM * PART);
    expect(result.skippedBytes + result.uploadedBytes).toBe(file.data.length);
    const back = await fx.readBack(result.destination.bucket, result.destination.objectKey);
    expect(back.md5).toBe(md5(file.data));
    expect(back.crc64).toBe(result.crc64);
    const media = (await fx.emu.admin.listMedia()).filter((m) => m.title === title);
    expect(media).toHaveLength(1);
    expect(media[0]!.status).toBe('UploadSucc');
  });

  it('refreshes expired credentials mid-upload without restarting it', async () => {
    const file = await fx.writeFile(3 * MiB);
    let refreshes = 0;
    let expired = false;
    const target = fx.vodTarget(undefined, () => refreshes++);
    const engine = fx.engine({
      events: {
        onPartUploaded: () => {
          if (!expired) {
            expired = true;
            void fx.emu.admin.expireCredentials();
          }
        },
      },
    });
    const since = (await fx.emu.admin.requests()).at(-1)?.seq ?? 0;
    const result = await engine.run({ uploadKey: 'job-creds', source: fx.fileSource(file.path), target });
    expect(refreshes).toBeGreaterThanOrEqual(1);
    // The target's count reaches the result (it was read by duck typing under another name before).
    expect(result.credentialRefreshes).toBe(refreshes);
    const log = await fx.emu.admin.requests({ since });
    expect(log.filter((e) => e.operation === 'InitiateMultipartUpload')).toHaveLength(1);
    expect(log.filter((e) => e.operation === 'RefreshUploadVideo').length).toBeGreaterThanOrEqual(1);
    expect(result.resumed).toBe(false);
    const back = await fx.readBack(result.destination.bucket, result.destination.objectKey);
    expect(back.md5).toBe(md5(file.data));
  });

  it('succeeds with about 20 % of part uploads failing (5xx, throttling, resets, cut bodies)', async () => {
    const file = await fx.writeFile(4 * MiB);
    const target = fx.ossTarget();
    const reasons: RetryReason[] = [];
    const faults = [
      () => fx.emu.admin.failUploadParts({ status: 500, code: 'InternalError' }),
      () => fx.emu.admin.failUploadParts({ status: 503, code: 'ServiceUnavailable' }),
      () => fx.emu.admin.failUploadParts({ status: 429, code: 'SlowDown' }),
      () => fx.emu.admin.resetUploadParts(),
      () => fx.emu.admin.cutUploadParts({ afterBytes: 10_000 }),
    ];
    for (const f of faults) await f();
    const engine = fx.engine({
      maxPartAttempts: 8,
      events: {
        onPartRetry: (e) => reasons.push(e.reason),
        onPartUploaded: () => {
          if (Math.random() < 0.2) void faults[randomBetween(0, faults.length)]!();
        },
      },
    });
    const result = await engine.run({ uploadKey: 'job-faults', source: fx.fileSource(file.path), target });
    expect(result.partRetries).toBeGreaterThanOrEqual(5);
    expect(reasons.length).toBe(result.partRetries);
    expect(reasons).toContain('5xx');
    expect(reasons).toContain('throttled');
    expect(reasons).toContain('network');
    const back = await fx.readBack(result.destination.bucket, result.destination.objectKey);
    expect(back.md5).toBe(md5(file.data));
    expect(back.crc64).toBe(result.crc64);
  });

  it('gives up after maxPartAttempts with the typed error, keeping the checkpoint to resume', async () => {
    const file = await fx.writeFile(1 * MiB);
    const target = fx.ossTarget();
    await fx.emu.admin.failUploadParts({ status: 503, code: 'ServiceUnavailable', count: 1000 });
    const run = fx.engine({ maxPartAttempts: 2 }).run({
      uploadKey: 'job-giveup',
      source: fx.fileSource(file.path),
      target,
    });
    await expect(run).rejects.toMatchObject({ code: 'STORAGE_ERROR', retryable: true });
    await fx.emu.admin.resetFaults();
    expect(await fx.store().get('job-giveup')).not.toBeNull();
    const result = await fx
      .engine()
      .run({ uploadKey: 'job-giveup', source: fx.fileSource(file.path), target });
    expect(result.resumed).toBe(true);
    expect((await fx.readBack(result.destination.bucket, result.destination.objectKey)).md5).toBe(
      md5(file.data),
    );
  });

  it('stretches a part attempt’s deadline by its size at the slowest acceptable rate', async () => {
    const file = await fx.writeFile(256 * KiB);
    await fx.emu.admin.delayResponses({ ms: 700, operation: 'UploadPart' });
    const run = (minPartBytesPerSecond: number) =>
      fx.engine({ partTimeoutMs: 400, minPartBytesPerSecond, maxPartAttempts: 1 }).run({
        uploadKey: `job-stretch-${minPartBytesPerSecond}`,
        source: fx.fileSource(file.path),
        target: fx.ossTarget(),
      });
    // 128 KiB parts: 400 ms + 1 s at 128 KiB/s covers the 700 ms round trip; 400 ms + ~0 does not.
    expect((await run(128 * KiB)).size).toBe(file.data.length);
    await expect(run(1024 ** 3)).rejects.toBeInstanceOf(TimeoutError);
  });
});
