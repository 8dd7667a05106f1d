import { AbortError, CredentialsExpiredError, type MediaSpec, type UploadedPart } from '@mediaferry/core';
import { type Emulator, startEmulator } from '@mediaferry/emulator';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { byNumber, KiB, makeParts, recordingLogger, vodClientFor } from './test-support/fixtures.js';
import type { VodClient } from './vod-client.js';
import { type VodCredentialRefreshEvent, VodStorageTarget } from './vod-storage.target.js';

/** VodStorageTarget with real openapi-core + ali-oss against the emulator. */
let emu: Emulator;
let vod: VodClient;
beforeAll(async () => {
  emu = await startEmulator({ ossSignatures: 'v4-only' });
  vod = vodClientFor(emu);
});
afterAll(() => emu.close());
afterEach(() => emu.admin.resetFaults());

const video: MediaSpec = { type: 'video', title: 'Clip', tags: ['a'] };

function target(
  media: MediaSpec = video,
  extra: Partial<ConstructorParameters<typeof VodStorageTarget>[0]> = {},
) {
  const events: VodCredentialRefreshEvent[] = [];
  const logger = recordingLogger();
  const t = new VodStorageTarget({
    vod,
    media,
    logger,
    onCredentialRefresh: (e) => events.push(e),
    ...extra,
  });
  return { target: t, events, logger };
}

async function lastSeq(): Promise<number> {
  return (await emu.admin.requests()).at(-1)?.seq ?? 0;
}

describe('VodStorageTarget', () => {
  it('uploads a video: prepare → init → parts → complete → UploadSucc, with CRC-64 and progress', async () => {
    const { target: t } = target();
    const data = makeParts([300 * KiB, 200 * KiB, 50 * KiB]);
    const dest = await t.prepare({ fileName: 'clip.mp4', contentType: 'video/mp4', size: data.whole.length });
    expect(dest).toMatchObject({ mediaType: 'video', bucket: emu.vodBucket, url: null });
    expect(dest.mediaId).toMatch(/^[0-9a-f]{32}$/);
    expect(await t.head()).toBeNull();

    const uploadId = await t.initMultipart();
    const progress: number[] = [];
    const parts = await Promise.all(
      data.parts.map((body, i) =>
        t.uploadPart(uploadId, i + 1, body, i === 0 ? { onBytesSent: (n) => progress.push(n) } : {}),
      ),
    );
    expect(progress.at(-1)).toBe(300 * KiB);
    expect(parts.map((p) => p.size)).toEqual([300 * KiB, 200 * KiB, 50 * KiB]);
    expect(parts.every((p) => /^".+"$/.test(p.etag))).toBe(true);

    const listed = await t.listParts(uploadId);
    expect(listed.map(({ partNumber, etag, size }) => ({ partNumber, etag, size }))).toEqual(
      parts.map(({ partNumber, etag, size }) => ({ partNumber, etag, size })),
    );

    const done = await t.complete(uploadId, parts);
    expect(done.crc64).toBe(data.crc64);
    expect(done.size).toBe(data.whole.length);
    await t.finalize();
    const { video: info } = await vod.getVideoInfo(dest.mediaId as string);
    expect(info.status).toBe('UploadSucc');
    expect(info.size).toBe(data.whole.length);
    expect(await t.head()).toMatchObject({ crc64: data.crc64, size: data.whole.length });
    // Idempotent: a second prepare on the same target never creates a second media.
    expect(await t.prepare({ fileName: 'clip.mp4', contentType: null, size: null })).toEqual(dest);
  });

  it('refreshes an expired credential through RefreshUploadVideo and continues the same upload', async () => {
    const { target: t, events } = target();
    const data = makeParts([150 * KiB, 120 * KiB]);
    const dest = await t.prepare({ fileName: 'x.mp4', contentType: null, size: data.whole.length });
    const uploadId = await t.initMultipart();
    const p1 = await t.uploadPart(uploadId, 1, data.parts[0] as Buffer);
    const since = await lastSeq();
    expect(await emu.admin.expireCredentials()).toBeGreaterThan(0);

    const p2 = await t.uploadPart(uploadId, 2, data.parts[1] as Buffer);
    const log = await emu.admin.requests({ since });
    expect(log.map((e) => `${e.operation}:${e.status}${e.errorCode ? `:${e.errorCode}` : ''}`)).toEqual([
      'UploadPart:403:SecurityTokenExpired',
      'RefreshUploadVideo:200',
      'UploadPart:200',
    ]);
    expect(log.filter((e) => e.operation === 'UploadPart').every((e) => e.uploadId === uploadId)).toBe(true);
    expect(events).toEqual([{ mediaId: dest.mediaId, reason: 'expired', generation: 2 }]);

    expect((await t.complete(uploadId, [p1, p2])).crc64).toBe(data.crc64);
    const all = await emu.admin.requests();
    expect(
      all.filter((e) => e.operation === 'InitiateMultipartUpload' && e.key === dest.objectKey),
    ).toHaveLength(1);
  });

  it('runs exactly one refresh for parts that hit the expiry together', async () => {
    const { target: t, events } = target();
    const data = makeParts([110 * KiB, 110 * KiB, 110 * KiB, 110 * KiB, 10 * KiB]);
    await t.prepare({ fileName: 'x.mp4', contentType: null, size: null });
    const uploadId = await t.initMultipart();
    const since = await lastSeq();
    await emu.admin.expireCredentials();
    const parts = await Promise.all(data.parts.map((b, i) => t.uploadPart(uploadId, i + 1, b)));
    const log = await emu.admin.requests({ since });
    expect(log.filter((e) => e.operation === 'RefreshUploadVideo')).toHaveLength(1);
    expect(events).toHaveLength(1);
    expect(t.credentialRefreshes).toBe(1);
    expect((await t.complete(uploadId, parts)).crc64).toBe(data.crc64);
  });

  it('refreshes ahead of expiry without any request failing', async () => {
    // Every credential is "about to expire" at once: each operation refreshes in the background
    // (single-flight) and goes ahead with the credential it has, which is still valid.
    const { target: t, events } = target(video, { refreshAheadMs: (lifetime) => lifetime + 1 });
    const data = makeParts([120 * KiB]);
    await t.prepare({ fileName: 'x.mp4', contentType: null, size: null });
    const since = await lastSeq();
    // A slow VOD: the upload goes on with the current credential meanwhile.
    await emu.admin.delayResponses({ ms: 2000, service: 'vod', operation: 'RefreshUploadVideo', count: 1 });
    const uploadId = await t.initMultipart();
    const part = await t.uploadPart(uploadId, 1, data.whole);
    await t.complete(uploadId, [part]);
    const log = await emu.admin.requests({ since });
    expect(log.map((e) => [e.operation, e.status])).toEqual([
      ['InitiateMultipartUpload', 200],
      ['UploadPart', 200],
      ['CompleteMultipartUpload', 200],
    ]);
    await vi.waitFor(() => expect(events.length).toBeGreaterThan(0), { timeout: 10_000 });
    expect(events.every((e) => e.reason === 'ahead-of-expiry')).toBe(true);
  });

  it('reattaches to the media of a checkpoint without creating a second one', async () => {
    const data = makeParts([200 * KiB, 30 * KiB]);
    const first = target().target;
    const dest = await first.prepare({ fileName: 'r.mp4', contentType: null, size: data.whole.length });
    const uploadId = await first.initMultipart();
    const p1 = await first.uploadPart(uploadId, 1, data.parts[0] as Buffer);
    const mediaBefore = (await emu.admin.listMedia()).length;
    const since = await lastSeq();

    // A new worker process: only the checkpoint (destination, upload id, parts) survives.
    const { target: second, events } = target();
    const again = await second.prepare({
      existing: dest,
      fileName: 'r.mp4',
      contentType: null,
      size: data.whole.length,
    });
    expect(again).toEqual(dest);
    expect(await second.listParts(uploadId)).toEqual([p1]);
    const p2 = await second.uploadPart(uploadId, 2, data.parts[1] as Buffer);
    expect((await second.complete(uploadId, [p1, p2])).crc64).toBe(data.crc64);

    const ops = (await emu.admin.requests({ since })).map((e) => e.operation);
    expect(ops).not.toContain('CreateUploadVideo');
    expect(ops[0]).toBe('RefreshUploadVideo');
    expect((await emu.admin.listMedia()).length).toBe(mediaBefore);
    expect(events).toEqual([{ mediaId: dest.mediaId, reason: 'reattach', generation: 1 }]);
  });

  it('uploads an image and an attached media', async () => {
    const image = target({ type: 'image', title: 'Poster', imageType: 'cover' }).target;
    const png = makeParts([40 * KiB]);
    const imageDest = await image.prepare({
      fileName: 'poster.png',
      contentType: 'image/png',
      size: png.whole.length,
    });
    expect(imageDest.url).toMatch(/^http:\/\//);
    const imageUpload = await image.initMultipart();
    const imagePart = await image.uploadPart(imageUpload, 1, png.whole);
    expect((await image.complete(imageUpload, [imagePart])).crc64).toBe(png.crc64);
    await image.finalize();
    expect((await vod.getImageInfo(imageDest.mediaId as string)).image.status).toBe('Normal');

    const subtitle = target({ type: 'attached', businessType: 'subtitle', title: 'Subs' }).target;
    const vtt = makeParts([2 * KiB]);
    const subDest = await subtitle.prepare({
      fileName: 'subs.vtt',
      contentType: 'text/vtt',
      size: vtt.whole.length,
    });
    expect(subDest.objectKey).toMatch(/\.vtt$/);
    const subUpload = await subtitle.initMultipart();
    const subPart = await subtitle.uploadPart(subUpload, 1, vtt.whole);
    expect((await subtitle.complete(subUpload, [subPart])).crc64).toBe(vtt.crc64);
    expect((await emu.admin.media(subDest.mediaId as string)).status).toBe('UploadSucc');
  });

  it('image credentials cannot be refreshed: the next prepare creates a new media and the upload restarts', async () => {
    const { target: t, logger } = target({ type: 'image', title: 'Pic' });
    const data = makeParts([30 * KiB]);
    const first = await t.prepare({ fileName: 'p.jpg', contentType: null, size: data.whole.length });
    const firstUpload = await t.initMultipart();
    await emu.admin.expireCredentials();
    const err = await t.uploadPart(firstUpload, 1, data.whole).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CredentialsExpiredError);
    expect((err as CredentialsExpiredError).details).toMatchObject({
      refreshable: false,
      mediaId: first.mediaId,
    });

    const second = await t.prepare({
      existing: first,
      fileName: 'p.jpg',
      contentType: null,
      size: data.whole.length,
    });
    expect(second.mediaId).not.toBe(first.mediaId);
    expect(second.objectKey).not.toBe(first.objectKey);
    expect(logger.lines.some((l) => l.level === 'warn' && /new media/.test(l.message))).toBe(true);
    const uploadId = await t.initMultipart();
    const part = await t.uploadPart(uploadId, 1, data.whole);
    expect((await t.complete(uploadId, [part])).crc64).toBe(data.crc64);
  });

  it('aborts: the upload is gone, and a signal stops a part in flight', async () => {
    const { target: t } = target();
    const data = makeParts([120 * KiB]);
    const dest = await t.prepare({ fileName: 'a.mp4', contentType: null, size: null });
    const uploadId = await t.initMultipart();
    await t.uploadPart(uploadId, 1, data.whole);
    await emu.admin.delayResponses({ ms: 10_000, operation: 'UploadPart', count: 1 });
    const controller = new AbortController();
    const pending = t.uploadPart(uploadId, 2, data.whole, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(pending).rejects.toBeInstanceOf(AbortError);

    await t.abort(uploadId);
    const uploads = await emu.admin.listUploads(emu.vodBucket);
    expect(uploads.filter((u) => u.key === dest.objectKey)).toEqual([]);
    await expect(t.listParts(uploadId)).rejects.toMatchObject({ code: 'NO_SUCH_UPLOAD' });
    await expect(t.abort(uploadId)).resolves.toBeUndefined();
  });

  it('keeps parts listed across pages', async () => {
    const { target: t } = target(video, { listPartsPageSize: 2 });
    await t.prepare({ fileName: 'p.mp4', contentType: null, size: null });
    const uploadId = await t.initMultipart();
    const uploaded: UploadedPart[] = [];
    for (let n = 1; n <= 5; n++) uploaded.push(await t.uploadPart(uploadId, n, Buffer.alloc(1000, n)));
    const since = await lastSeq();
    const listed = await t.listParts(uploadId);
    expect(byNumber(listed).map((p) => p.partNumber)).toEqual([1, 2, 3, 4, 5]);
    expect(listed.map((p) => p.etag)).toEqual(uploaded.map((p) => p.etag));
    expect((await emu.admin.requests({ since })).filter((e) => e.operation === 'ListParts')).toHaveLength(3);
  });
});
