import { AccessDeniedError, ThrottledError, VodError } from '@mediaferry/core';
import { type Emulator, startEmulator } from '@mediaferry/emulator';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { VodClient } from './vod-client.js';
import { isVodNotFound } from './vod-errors.js';

/** Every VOD action through real openapi-core against the emulator (which checks every signature). */
let emu: Emulator;
let vod: VodClient;
let storageLocation: string;

beforeAll(async () => {
  emu = await startEmulator({ ossSignatures: 'v4-only' });
  vod = new VodClient({
    endpoint: emu.vodEndpoint,
    regionId: emu.region,
    accessKeyId: emu.accessKeyId,
    accessKeySecret: emu.accessKeySecret,
  });
  storageLocation = `${emu.vodBucket}.oss-${emu.region}.aliyuncs.com`;
});
afterAll(() => emu.close());
afterEach(() => emu.admin.resetFaults());

describe('VodClient against the emulator', () => {
  it('CreateUploadVideo carries every option and GetVideoInfo reads them back', async () => {
    const before = Date.now();
    const created = await vod.createUploadVideo({
      title: 'My video (1)*',
      fileName: 'a b.mp4',
      fileSize: 12345,
      description: 'about it',
      coverUrl: 'https://img.example.com/c.jpg',
      cateId: 7,
      tags: ['x', 'y z'],
      templateGroupId: 'tg-1',
      workflowId: 'wf-1',
      storageLocation,
      appId: 'app-1',
      userData: { Extend: { job: 'j1' } },
      referenceId: 'ref-0001',
    });
    expect(created.videoId).toBe(created.mediaId);
    expect(created.address.bucket).toBe(emu.vodBucket);
    expect(created.address.endpoint).toBe(emu.ossEndpoint);
    expect(created.address.objectKey).toMatch(/\.mp4$/);
    expect(created.credentials.accessKeyId).toMatch(/^STS\./);
    expect(created.credentials.region).toBe(emu.region);
    // The emulator issues the cloud's 3000 s; allow for second-granular ExpireUTCTime.
    const lifetime = created.credentials.expiresAt.getTime() - before;
    expect(lifetime).toBeGreaterThan(2_990_000);
    expect(lifetime).toBeLessThanOrEqual(3_001_000);

    const { video } = await vod.getVideoInfo(created.videoId);
    expect(video).toMatchObject({
      videoId: created.videoId,
      status: 'Uploading',
      title: 'My video (1)*',
      description: 'about it',
      coverUrl: 'https://img.example.com/c.jpg',
      cateId: 7,
      tags: 'x,y z',
      templateGroupId: 'tg-1',
      storageLocation,
      appId: 'app-1',
      referenceId: 'ref-0001',
      size: 12345,
    });
    expect(JSON.parse(video.userData ?? '{}')).toEqual({ Extend: { job: 'j1' } });
    const [log] = await emu.admin.requests({ operation: 'CreateUploadVideo' });
    expect(log?.status).toBe(200);
  });

  it('RefreshUploadVideo keeps the address and issues a new credential', async () => {
    const created = await vod.createUploadVideo({ title: 't', fileName: 'r.mov' });
    const refreshed = await vod.refreshUploadVideo(created.videoId);
    expect(refreshed.mediaId).toBe(created.videoId);
    expect(refreshed.address).toEqual(created.address);
    expect(refreshed.credentials.accessKeyId).not.toBe(created.credentials.accessKeyId);
  });

  it('CreateUploadImage carries its options and GetImageInfo reads them back', async () => {
    const created = await vod.createUploadImage({
      imageType: 'cover',
      imageExt: 'jpg',
      title: 'An image',
      tags: 'a,b',
      cateId: 3,
      description: 'pic',
      originalFileName: 'pic.jpg',
      storageLocation,
      appId: 'app-2',
      userData: '{"k":"v"}',
    });
    expect(created.imageId).toBe(created.mediaId);
    expect(created.imageUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    expect(created.address.objectKey).toMatch(/\.jpg$/);
    const { image } = await vod.getImageInfo(created.imageId);
    expect(image).toMatchObject({
      imageId: created.imageId,
      title: 'An image',
      imageType: 'cover',
      storageLocation,
      appId: 'app-2',
      originalFileName: 'pic.jpg',
      status: 'Uploading',
    });
    expect(image.raw).toMatchObject({ Tags: 'a,b', CateId: 3, Description: 'pic', UserData: '{"k":"v"}' });
  });

  it('CreateUploadAttachedMedia carries its options', async () => {
    const created = await vod.createUploadAttachedMedia({
      businessType: 'subtitle',
      mediaExt: 'vtt',
      title: 'Subs',
      fileName: 'subs.vtt',
      fileSize: 2048,
      tags: ['en'],
      cateIds: [4, 5],
      description: 'english',
      storageLocation,
      appId: 'app-3',
      userData: { a: 1 },
    });
    expect(created.mediaUrl).toBeTruthy();
    expect(created.address.objectKey).toMatch(/\.vtt$/);
    const media = await emu.admin.media(created.mediaId);
    expect(media).toMatchObject({ kind: 'attached', title: 'Subs', status: 'Uploading' });
  });

  it('DeleteVideo removes the media and reports unknown ids', async () => {
    const created = await vod.createUploadVideo({ title: 't', fileName: 'd.mp4' });
    const result = await vod.deleteVideo([created.videoId, 'does-not-exist']);
    expect(result.nonExistVideoIds).toEqual(['does-not-exist']);
    const err = await vod.getVideoInfo(created.videoId).catch((e: unknown) => e);
    expect(isVodNotFound(err)).toBe(true);
  });

  it('answers an unknown video id with a fatal NotFound VodError', async () => {
    const err = await vod.getVideoInfo('0123456789abcdef0123456789abcdef').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VodError);
    expect((err as VodError).retryable).toBe(false);
    expect((err as VodError).vodCode).toBe('InvalidVideo.NotFound');
    expect((err as VodError).details).toMatchObject({ requestId: expect.any(String), status: 404 });
  });

  it('answers a wrong secret with a fatal AccessDeniedError that leaks nothing', async () => {
    const wrong = new VodClient({
      endpoint: emu.url,
      regionId: emu.region,
      accessKeyId: emu.accessKeyId,
      accessKeySecret: 'wrong-secret-value',
    });
    const err = await wrong.createUploadVideo({ title: 't', fileName: 'a.mp4' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AccessDeniedError);
    expect((err as AccessDeniedError).details).toMatchObject({ vodCode: 'SignatureDoesNotMatch' });
    expect((err as Error).message).not.toContain('wrong-secret-value');
    expect((err as Error).message).not.toMatch(/string to sign/i);

    const unknownKey = new VodClient({
      endpoint: emu.url,
      regionId: emu.region,
      accessKeyId: 'nobody',
      accessKeySecret: 'x',
    });
    const err2 = await unknownKey.getVideoInfo('v').catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(AccessDeniedError);
    expect((err2 as AccessDeniedError).details).toMatchObject({ vodCode: 'InvalidAccessKeyId.NotFound' });
  });

  it('answers throttling with a retryable ThrottledError, and a parameter error with a fatal one', async () => {
    await emu.admin.failVodCalls({
      action: 'CreateUploadVideo',
      status: 400,
      code: 'Throttling.User',
      count: 1,
    });
    const throttled = await vod.createUploadVideo({ title: 't', fileName: 'a.mp4' }).catch((e: unknown) => e);
    expect(throttled).toBeInstanceOf(ThrottledError);
    expect((throttled as ThrottledError).retryable).toBe(true);

    await emu.admin.failVodCalls({
      action: 'GetVideoInfo',
      status: 503,
      code: 'ServiceUnavailable',
      count: 1,
    });
    const unavailable = await vod.getVideoInfo('v').catch((e: unknown) => e);
    expect(unavailable).toBeInstanceOf(VodError);
    expect((unavailable as VodError).retryable).toBe(true);

    const invalid = await vod
      .createUploadVideo({ title: 't', fileName: 'no-extension' })
      .catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(VodError);
    expect((invalid as VodError).retryable).toBe(false);
    expect((invalid as VodError).vodCode).toBe('InvalidParameter');
  });
});
