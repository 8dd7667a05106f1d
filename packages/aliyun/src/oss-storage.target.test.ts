import { AccessDeniedError, NetworkError, NoSuchUploadError, StorageError } from '@mediaferry/core';
import { type Emulator, startEmulator } from '@mediaferry/emulator';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OssClientOptions } from './oss-client.js';
import { OssStorageTarget } from './oss-storage.target.js';
import { createStorageTarget } from './target-factory.js';
import { KiB, makeParts, vodClientFor } from './test-support/fixtures.js';
import { VodStorageTarget } from './vod-storage.target.js';

/** OssStorageTarget with real ali-oss against the emulator's plain bucket. */
let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ ossSignatures: 'v4-only' });
});
afterAll(() => emu.close());
afterEach(() => emu.admin.resetFaults());

const BUCKET = 'mediaferry-local';

function account(secret?: string) {
  return {
    endpoint: emu.ossEndpoint,
    region: emu.region,
    accessKeyId: emu.accessKeyId,
    accessKeySecret: secret ?? emu.accessKeySecret,
  };
}

function ossTarget(
  key: string,
  extra: { listPartsPageSize?: number; secret?: string; client?: OssClientOptions } = {},
) {
  return new OssStorageTarget({
    account: account(extra.secret),
    bucket: BUCKET,
    key,
    mediaType: 'video',
    ...(extra.listPartsPageSize ? { listPartsPageSize: extra.listPartsPageSize } : {}),
    ...(extra.client ? { client: extra.client } : {}),
  });
}

describe('OssStorageTarget', () => {
  it('uploads into a plain bucket and key, listing parts across pages', async () => {
    const key = 'dir/video 1+.mp4';
    const t = ossTarget(key, { listPartsPageSize: 2 });
    const dest = await t.prepare({ fileName: 'video 1+.mp4', contentType: 'video/mp4', size: null });
    expect(dest).toEqual({ mediaId: null, mediaType: 'video', bucket: BUCKET, objectKey: key, url: null });
    expect(await t.head()).toBeNull();

    const data = makeParts([110 * KiB, 110 * KiB, 110 * KiB, 110 * KiB, 7]);
    const uploadId = await t.initMultipart();
    const parts = [];
    for (const [i, body] of data.parts.entries()) parts.push(await t.uploadPart(uploadId, i + 1, body));
    expect(parts.every((p) => p.crc64 !== undefined)).toBe(true);

    const since = (await emu.admin.requests()).at(-1)?.seq ?? 0;
    const listed = await t.listParts(uploadId);
    expect(listed.map((p) => [p.partNumber, p.etag, p.size])).toEqual(
      parts.map((p) => [p.partNumber, p.etag, p.size]),
    );
    expect((await emu.admin.requests({ since, operation: 'ListParts' })).length).toBe(3);

    const done = await t.complete(uploadId, parts);
    expect(done).toMatchObject({ crc64: data.crc64, size: data.whole.length });
    const [object] = (await emu.admin.listObjects(BUCKET)).filter((o) => o.key === key);
    expect(object).toMatchObject({ size: data.whole.length, crc64: data.crc64, contentType: 'video/mp4' });
    expect(await t.head()).toMatchObject({ crc64: data.crc64, size: data.whole.length });
    await expect(t.listParts(uploadId)).rejects.toBeInstanceOf(NoSuchUploadError);
  });

  it('maps account-key failures, injected 5xx and resets to typed errors', async () => {
    const denied = ossTarget('denied.mp4', { secret: 'not-the-secret' });
    await denied.prepare({ fileName: 'denied.mp4', contentType: null, size: null });
    const err = await denied.initMultipart().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AccessDeniedError);
    expect((err as AccessDeniedError).details).toMatchObject({ ossCode: 'SignatureDoesNotMatch' });
    expect((err as Error).message).not.toContain('not-the-secret');

    const t = ossTarget('faults.mp4');
    await t.prepare({ fileName: 'faults.mp4', contentType: null, size: null });
    const uploadId = await t.initMultipart();
    await emu.admin.failUploadParts({ status: 503, code: 'ServiceUnavailable' });
    const e503 = await t.uploadPart(uploadId, 1, Buffer.alloc(1000)).catch((e: unknown) => e);
    expect(e503).toBeInstanceOf(StorageError);
    expect((e503 as StorageError).retryable).toBe(true);
    expect((e503 as StorageError).details).toMatchObject({
      requestId: expect.any(String),
      ossCode: 'ServiceUnavailable',
    });

    await emu.admin.resetUploadParts();
    const reset = await t.uploadPart(uploadId, 1, Buffer.alloc(200 * KiB)).catch((e: unknown) => e);
    expect(reset).toBeInstanceOf(NetworkError);
    // The same part goes through afterwards: nothing on the client side is stuck.
    expect((await t.uploadPart(uploadId, 1, Buffer.alloc(1000))).size).toBe(1000);
    await t.abort(uploadId);
  });
});

describe('OssStorageTarget timeouts and cleanup', () => {
  it('stretches a part request’s timeout by its size at the slowest acceptable rate', async () => {
    const body = Buffer.alloc(200 * KiB);
    const slowLink = ossTarget('stretch.mp4', { client: { timeoutMs: 300, minBytesPerSecond: 200 * KiB } });
    const strict = ossTarget('stretch.mp4', { client: { timeoutMs: 300, minBytesPerSecond: 1024 ** 3 } });
    await slowLink.prepare({ fileName: 'stretch.mp4', contentType: null, size: null });
    await strict.prepare({ fileName: 'stretch.mp4', contentType: null, size: null });
    const uploadId = await strict.initMultipart();
    await emu.admin.delayResponses({ ms: 700, operation: 'UploadPart' });
    // 300 ms + 200 KiB at 200 KiB/s = 1.3 s: the slow part gets through...
    expect((await slowLink.uploadPart(uploadId, 1, body)).size).toBe(body.length);
    // ...while 300 ms + ~0 ms does not.
    await expect(strict.uploadPart(uploadId, 2, body)).rejects.toBeInstanceOf(NetworkError);
    await strict.abort(uploadId);
  });

  it('reattaches for cleanup without any request and deletes only its own key', async () => {
    const t = ossTarget('cleanup/a.mp4');
    const dest = await t.prepare({ fileName: 'a.mp4', contentType: null, size: null });
    expect(await t.reattachForCleanup(dest)).toBe(true);
    expect(await t.reattachForCleanup({ ...dest, objectKey: 'cleanup/b.mp4' })).toBe(false);
    const uploadId = await t.initMultipart();
    const part = await t.uploadPart(uploadId, 1, Buffer.alloc(1000));
    await t.complete(uploadId, [part]);
    expect(await t.head()).not.toBeNull();
    await t.discard(dest);
    expect(await t.head()).toBeNull();
    await t.discard(dest); // already gone: fine
    await expect(t.discard({ ...dest, objectKey: 'cleanup/b.mp4' })).rejects.toThrow(/cannot delete/);
  });
});

describe('createStorageTarget', () => {
  it('builds a VOD target by default and an OSS target for {"type":"oss"}', async () => {
    const deps = { vod: vodClientFor(emu), ossAccount: account() };
    const vodTarget = createStorageTarget(
      { target: { type: 'vod' }, media: { type: 'video', title: 'T' } },
      deps,
    );
    expect(vodTarget).toBeInstanceOf(VodStorageTarget);
    const dest = await vodTarget.prepare({ fileName: 'v.mp4', contentType: null, size: 10 });
    expect(dest.bucket).toBe(emu.vodBucket);

    const plain = createStorageTarget(
      { target: { type: 'oss', bucket: BUCKET, key: 'f/a.mp3' }, media: { type: 'audio', title: 'A' } },
      deps,
    );
    expect(plain).toBeInstanceOf(OssStorageTarget);
    expect(await plain.prepare({ fileName: 'a.mp3', contentType: null, size: 10 })).toMatchObject({
      mediaId: null,
      mediaType: 'audio',
      bucket: BUCKET,
      objectKey: 'f/a.mp3',
    });
  });
});
