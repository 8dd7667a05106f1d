import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../emulator.js';
import { callVod, createVideo, ossForUpload, rejectionOf, vodClient } from '../test-support/clients.js';

/**
 * Fidelity: every VOD answer the emulator gives, checked against the documented response body — the
 * field names and types of the VOD 2017-03-21 API reference as its generated SDK models
 * (aliyun/alibabacloud-typescript-sdk, `vod-20170321/src/models/*ResponseBody.ts`) spell them — with
 * the real @alicloud/openapi-core client. Written from those models, not from what our client reads: a
 * field the service does not document, or one of another type, fails here.
 */

type FieldType = 'string' | 'number' | 'string[]' | 'object' | 'object[]';
type Shape = Record<string, FieldType>;

const UPLOAD = { RequestId: 'string', UploadAddress: 'string', UploadAuth: 'string' } as const;
const DOCUMENTED: Record<string, Shape> = {
  CreateUploadVideo: { ...UPLOAD, VideoId: 'string' },
  RefreshUploadVideo: { ...UPLOAD, VideoId: 'string' },
  CreateUploadImage: { ...UPLOAD, ImageId: 'string', ImageURL: 'string', FileURL: 'string' },
  CreateUploadAttachedMedia: { ...UPLOAD, MediaId: 'string', MediaURL: 'string', FileURL: 'string' },
  GetVideoInfo: { RequestId: 'string', Video: 'object' },
  GetVideoInfos: {
    RequestId: 'string',
    VideoList: 'object[]',
    NonExistVideoIds: 'string[]',
    NonExistReferenceIds: 'string[]',
  },
  DeleteVideo: {
    RequestId: 'string',
    ForbiddenVideoIds: 'string[]',
    NonExistVideoIds: 'string[]',
    NonExistReferenceIds: 'string[]',
  },
};
const VIDEO_COMMON: Shape = {
  AppId: 'string',
  CateId: 'number',
  CateName: 'string',
  CoverURL: 'string',
  CreationTime: 'string',
  Description: 'string',
  DownloadSwitch: 'string',
  Duration: 'number',
  ModificationTime: 'string',
  ReferenceId: 'string',
  RestoreExpiration: 'string',
  RestoreStatus: 'string',
  Size: 'number',
  Status: 'string',
  StorageClass: 'string',
  StorageLocation: 'string',
  Tags: 'string',
  TemplateGroupId: 'string',
  Title: 'string',
  UserData: 'string',
  VideoId: 'string',
};
/** GetVideoInfo's `Video` (GetVideoInfoResponseBodyVideo). */
const VIDEO: Shape = {
  ...VIDEO_COMMON,
  AuditStatus: 'string',
  CustomMediaInfo: 'string',
  RegionId: 'string',
  Snapshots: 'object',
};
/** An item of GetVideoInfos' `VideoList` (GetVideoInfosResponseBodyVideoList). */
const VIDEO_LIST_ITEM: Shape = { ...VIDEO_COMMON, Snapshots: 'string[]' };

function typeOf(v: unknown): FieldType | 'other' {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'number';
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) return 'string[]';
    return v.every((x) => x && typeof x === 'object') ? 'object[]' : 'other';
  }
  return v && typeof v === 'object' ? 'object' : 'other';
}

/** Every field is documented and has the documented type (an empty array fits any array type). */
function expectDocumented(body: Record<string, unknown>, shape: Shape, where: string): void {
  for (const [name, value] of Object.entries(body)) {
    expect(shape, `${where}: undocumented field ${name}`).toHaveProperty(name);
    const actual = typeOf(value);
    const documented = shape[name]!;
    const emptyArray = Array.isArray(value) && value.length === 0 && documented.endsWith('[]');
    expect(emptyArray || actual === documented, `${where}.${name}: ${actual}, documented ${documented}`).toBe(
      true,
    );
  }
}

describe('VOD answers match the documented response bodies', () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startEmulator({ ossSignatures: 'v4-only' });
  });
  afterAll(async () => {
    await emu?.close();
  });

  it('Create…, Refresh…, GetVideoInfo(s), DeleteVideo', async () => {
    const vod = vodClient(emu);
    const t = await createVideo(emu, { ReferenceId: `fid_${Date.now()}`, CateId: 3, Tags: 'a,b' });
    expectDocumented(t.body, DOCUMENTED.CreateUploadVideo!, 'CreateUploadVideo');
    await ossForUpload(t).put(t.key, Buffer.from('bytes'));
    const refreshed = await callVod(vod, 'RefreshUploadVideo', { VideoId: t.mediaId });
    expectDocumented(refreshed, DOCUMENTED.RefreshUploadVideo!, 'RefreshUploadVideo');
    const image = await callVod(vod, 'CreateUploadImage', { ImageType: 'default', ImageExt: 'png' });
    expectDocumented(image, DOCUMENTED.CreateUploadImage!, 'CreateUploadImage');
    const attached = await callVod(vod, 'CreateUploadAttachedMedia', {
      BusinessType: 'subtitle',
      MediaExt: 'vtt',
    });
    expectDocumented(attached, DOCUMENTED.CreateUploadAttachedMedia!, 'CreateUploadAttachedMedia');

    const info = await callVod(vod, 'GetVideoInfo', { VideoId: t.mediaId });
    expectDocumented(info, DOCUMENTED.GetVideoInfo!, 'GetVideoInfo');
    expectDocumented(info.Video, VIDEO, 'GetVideoInfo.Video');
    expect(info.Video.Snapshots).toEqual({ Snapshot: [] });
    expect(info.Video.Status).toBe('UploadSucc');

    const infos = await callVod(vod, 'GetVideoInfos', { VideoIds: `${t.mediaId},${'f'.repeat(32)}` });
    expectDocumented(infos, DOCUMENTED.GetVideoInfos!, 'GetVideoInfos');
    expect(infos.VideoList).toHaveLength(1);
    expectDocumented(infos.VideoList[0], VIDEO_LIST_ITEM, 'GetVideoInfos.VideoList[]');

    const deleted = await callVod(vod, 'DeleteVideo', { VideoIds: t.mediaId });
    expectDocumented(deleted, DOCUMENTED.DeleteVideo!, 'DeleteVideo');
  });

  it('errors are the gateway JSON with the documented codes', async () => {
    const vod = vodClient(emu);
    const notFound = await rejectionOf(() => callVod(vod, 'GetVideoInfo', { VideoId: 'a'.repeat(32) }));
    expect(notFound).toMatchObject({ statusCode: 404, code: 'InvalidVideo.NotFound' });
    expect(Object.keys(notFound.data).sort()).toEqual([
      'Code',
      'HostId',
      'Message',
      'Recommend',
      'RequestId',
    ]);
    const missing = await rejectionOf(() => callVod(vod, 'CreateUploadVideo', { Title: 't' }));
    expect(missing).toMatchObject({ statusCode: 400, code: 'MissingParameter' });
  });
});
