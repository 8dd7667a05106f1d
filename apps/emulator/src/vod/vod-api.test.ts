import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../emulator.js';
import {
  callVod,
  createVideo,
  decodeUpload,
  ossForAccount,
  ossForUpload,
  rejectionOf,
  testData,
  type VodClientOptions,
  vodClient,
} from '../test-support/clients.js';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ ossSignatures: 'v4-only' });
});
afterAll(async () => {
  await emu?.close();
});

const vod = (o?: VodClientOptions) => vodClient(emu, o);

interface Captured {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Lets the real client sign one request against a recorder, so a test can replay or tamper with it. */
async function capture(
  action: string,
  query: Record<string, unknown>,
  o: VodClientOptions = {},
): Promise<Captured> {
  let captured: Captured | undefined;
  const recorder = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      captured = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) };
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"RequestId":"recorded"}');
    });
  });
  await new Promise<void>((r) => recorder.listen(0, '127.0.0.1', r));
  try {
    const port = (recorder.address() as AddressInfo).port;
    await callVod(vodClient({ ...emu, vodEndpoint: `127.0.0.1:${port}` }, o), action, query);
    return captured!;
  } finally {
    recorder.close();
  }
}

/** Sends a captured request to the emulator as-is (node:http keeps the signed Host header). */
function replay(
  c: Captured,
  change: Partial<Captured> = {},
): Promise<{ status: number; body: Record<string, string> }> {
  const r = { ...c, ...change };
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: emu.port,
        method: r.method,
        path: r.url,
        headers: { ...r.headers, 'content-length': r.body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d) => chunks.push(d));
        res.on('end', () =>
          resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString()) }),
        );
      },
    );
    req.on('error', reject);
    req.end(r.body);
  });
}

describe('CreateUploadVideo / RefreshUploadVideo / GetVideoInfo', () => {
  it('answers the exact VOD shapes (UploadAddress/UploadAuth base64 compact JSON)', async () => {
    const before = Date.now();
    const body = await callVod(vod(), 'CreateUploadVideo', {
      Title: 'My video (1)*',
      FileName: 'a b.MP4',
      FileSize: 12345,
      Description: 'desc',
      Tags: 'x,y',
      CateId: 7,
      UserData: JSON.stringify({ Extend: { a: 1 } }),
    });
    expect(Object.keys(body)).toEqual(['RequestId', 'VideoId', 'UploadAddress', 'UploadAuth']);
    expect(body.VideoId).toMatch(/^[0-9a-f]{32}$/);
    const address = JSON.parse(Buffer.from(body.UploadAddress, 'base64').toString());
    expect(Object.keys(address)).toEqual(['Endpoint', 'Bucket', 'FileName']);
    expect(address).toMatchObject({ Endpoint: emu.url, Bucket: emu.vodBucket });
    expect(address.FileName).toMatch(/^sv\/[0-9a-f-]+\/[0-9a-f-]+\.mp4$/);
    const auth = JSON.parse(Buffer.from(body.UploadAuth, 'base64').toString());
    expect(Object.keys(auth)).toEqual([
      'SecurityToken',
      'AccessKeyId',
      'ExpireUTCTime',
      'AccessKeySecret',
      'Expiration',
      'Region',
    ]);
    expect(auth).toMatchObject({ Expiration: '3000', Region: 'cn-shanghai' });
    expect(auth.AccessKeyId).toMatch(/^STS\./);
    expect(auth.ExpireUTCTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Date.parse(auth.ExpireUTCTime)).toBeGreaterThanOrEqual(
      Math.floor(before / 1000) * 1000 + 3_000_000,
    );

    const info = await callVod(vod(), 'GetVideoInfo', { VideoId: body.VideoId });
    expect(info.Video).toMatchObject({
      VideoId: body.VideoId,
      Title: 'My video (1)*',
      Description: 'desc',
      Tags: 'x,y',
      CateId: 7,
      Status: 'Uploading',
      Size: 12345,
      RegionId: 'cn-shanghai',
      StorageLocation: `${emu.vodBucket}.oss-cn-shanghai.aliyuncs.com`,
      UserData: '{"Extend":{"a":1}}',
    });
    expect(info.Video.CreationTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(info).not.toHaveProperty('Code');
  });

  it('RefreshUploadVideo keeps VideoId and address, issues a new credential; both work until expiry', async () => {
    const t = await createVideo(emu);
    const refreshed = await callVod(vod(), 'RefreshUploadVideo', { VideoId: t.mediaId });
    expect(refreshed.VideoId).toBe(t.mediaId);
    expect(refreshed.UploadAddress).toBe(t.body.UploadAddress);
    const r = decodeUpload(refreshed);
    expect(r.accessKeyId).not.toBe(t.accessKeyId);
    await ossForUpload(t).put(t.key, testData(10, 1));
    await ossForUpload(r).put(t.key, testData(10, 2));
  });

  it('validates parameters with the gateway codes', async () => {
    const cases: [string, Record<string, unknown>, number, string][] = [
      ['CreateUploadVideo', { FileName: 'a.mp4' }, 400, 'MissingParameter'],
      ['CreateUploadVideo', { Title: 't' }, 400, 'MissingParameter'],
      ['CreateUploadVideo', { Title: 't', FileName: 'no-extension' }, 400, 'InvalidParameter'],
      [
        'CreateUploadVideo',
        { Title: 't', FileName: 'a.mp4', UserData: '{not json' },
        400,
        'InvalidParameter',
      ],
      ['CreateUploadVideo', { Title: 'x'.repeat(129), FileName: 'a.mp4' }, 400, 'InvalidParameter'],
      ['CreateUploadVideo', { Title: 't', FileName: 'a.mp4', FileSize: 'big' }, 400, 'InvalidParameter'],
      [
        'CreateUploadVideo',
        { Title: 't', FileName: 'a.mp4', StorageLocation: 'elsewhere' },
        404,
        'InvalidStorage.NotFound',
      ],
      ['GetVideoInfo', { VideoId: 'f'.repeat(32) }, 404, 'InvalidVideo.NotFound'],
      ['RefreshUploadVideo', { VideoId: 'f'.repeat(32) }, 404, 'InvalidVideo.NotFound'],
      ['CreateUploadImage', { ImageType: 'poster' }, 400, 'InvalidParameter'],
      ['CreateUploadAttachedMedia', { BusinessType: 'subtitle', MediaExt: 'exe' }, 400, 'InvalidParameter'],
      ['NoSuchAction', {}, 404, 'InvalidAction.NotFound'],
    ];
    for (const [action, query, status, code] of cases) {
      const err = await rejectionOf(() => callVod(vod(), action, query));
      expect({ action, status: err.statusCode, code: err.code }).toEqual({ action, status, code });
      expect(err.data).toMatchObject({ Code: code, HostId: 'vod.cn-shanghai.aliyuncs.com' });
      expect(err.data.RequestId).toMatch(/^[0-9A-F-]{36}$/);
      expect(err.data.Recommend).toContain(code);
    }
  });

  it('images and attached media get their own addresses and complete on upload', async () => {
    const image = await callVod(vod(), 'CreateUploadImage', {
      ImageType: 'cover',
      ImageExt: 'jpg',
      Title: 'c',
    });
    expect(Object.keys(image)).toEqual([
      'RequestId',
      'ImageId',
      'ImageURL',
      'FileURL',
      'UploadAddress',
      'UploadAuth',
    ]);
    const it1 = decodeUpload(image);
    expect(it1.key).toMatch(/\.jpg$/);
    await ossForUpload(it1).put(it1.key, testData(2000));
    const info = await callVod(vod(), 'GetImageInfo', { ImageId: image.ImageId });
    expect(info.ImageInfo).toMatchObject({ ImageId: image.ImageId, Status: 'Normal', ImageType: 'cover' });
    expect(info.ImageInfo.Mezzanine.FileSize).toBe(2000);

    const attached = await callVod(vod(), 'CreateUploadAttachedMedia', {
      BusinessType: 'subtitle',
      MediaExt: 'vtt',
      Title: 'subs',
    });
    expect(Object.keys(attached)).toEqual([
      'RequestId',
      'MediaId',
      'MediaURL',
      'FileURL',
      'UploadAddress',
      'UploadAuth',
    ]);
    const at = decodeUpload(attached);
    expect(at.key).toMatch(/^subtitle\/.*\.vtt$/);
    await ossForUpload(at).put(at.key, Buffer.from('WEBVTT\n'));
    expect((await emu.admin.media(at.mediaId)).status).toBe('UploadSucc');
  });

  it('DeleteVideo removes the media and its file; its STS credential stays valid until it expires', async () => {
    const t = await createVideo(emu);
    const oss = ossForUpload(t);
    await oss.put(t.key, testData(100));
    const { uploadId } = await oss.initMultipartUpload(t.key);
    const res = await callVod(vod(), 'DeleteVideo', { VideoIds: `${t.mediaId},${'e'.repeat(32)}` });
    expect(res).toMatchObject({ NonExistVideoIds: ['e'.repeat(32)], ForbiddenVideoIds: [] });
    expect((await rejectionOf(() => callVod(vod(), 'GetVideoInfo', { VideoId: t.mediaId }))).code).toBe(
      'InvalidVideo.NotFound',
    );
    const owner = ossForAccount(emu, t.bucket);
    expect((await rejectionOf(() => owner.get(t.key))).code).toBe('NoSuchKey');
    // STS cannot revoke a token: a write in flight lands in the deleted media's path, no media again.
    await oss.put(t.key, testData(1));
    expect((await owner.head(t.key)).status).toBe(200);
    // VOD does not track OSS multipart uploads: the open one can still be aborted with the credential.
    await oss.abortMultipartUpload(t.key, uploadId);
    expect((await rejectionOf(() => callVod(vod(), 'GetVideoInfo', { VideoId: t.mediaId }))).code).toBe(
      'InvalidVideo.NotFound',
    );
  });

  it('ReferenceId is unique and findable with GetVideoInfos; a deleted media frees it', async () => {
    const ref = `ref_${Date.now()}-x`;
    const t = await createVideo(emu, { ReferenceId: ref });
    const dup = await rejectionOf(() => createVideo(emu, { ReferenceId: ref }));
    expect([dup.statusCode, dup.code]).toEqual([400, 'InvalidParameter']);
    expect((await rejectionOf(() => createVideo(emu, { ReferenceId: 'short' }))).code).toBe(
      'InvalidParameter',
    );
    expect((await rejectionOf(() => createVideo(emu, { ReferenceId: 'has space!' }))).code).toBe(
      'InvalidParameter',
    );
    const byRef = await callVod(vod(), 'GetVideoInfos', { ReferenceIds: `${ref},unknown-ref` });
    const single = await callVod(vod(), 'GetVideoInfo', { VideoId: t.mediaId });
    // GetVideoInfos items are not GetVideoInfo's Video: Snapshots is a plain array, no RegionId/AuditStatus.
    const { RegionId, AuditStatus, Snapshots, ...shared } = single.Video;
    expect([RegionId, AuditStatus, Snapshots]).toEqual([emu.region, 'Init', { Snapshot: [] }]);
    expect(byRef.VideoList).toEqual([{ ...shared, Snapshots: [] }]);
    expect(byRef.NonExistReferenceIds).toEqual(['unknown-ref']);
    const byId = await callVod(vod(), 'GetVideoInfos', { VideoIds: `${'d'.repeat(32)},${t.mediaId}` });
    expect([byId.VideoList.map((v: { VideoId: string }) => v.VideoId), byId.NonExistVideoIds]).toEqual([
      [t.mediaId],
      ['d'.repeat(32)],
    ]);
    expect((await rejectionOf(() => callVod(vod(), 'GetVideoInfos', {}))).code).toBe('MissingParameter');
    await callVod(vod(), 'DeleteVideo', { VideoIds: t.mediaId });
    expect((await callVod(vod(), 'GetVideoInfos', { ReferenceIds: ref })).VideoList).toEqual([]);
    expect((await createVideo(emu, { ReferenceId: ref })).mediaId).not.toBe(t.mediaId);
  });
});

describe('CreateUploadVideo that ignores ReferenceId (createReferenceId: ignore)', () => {
  it('validates but drops it: no uniqueness, not findable, RefreshUploadVideo unaffected', async () => {
    const lax = await startEmulator({ ossSignatures: 'v4-only', createReferenceId: 'ignore' });
    try {
      const ref = `ignored_${Date.now()}`;
      const a = await createVideo(lax, { ReferenceId: ref });
      const b = await createVideo(lax, { ReferenceId: ref });
      expect(a.mediaId).not.toBe(b.mediaId);
      const info = await callVod(vodClient(lax), 'GetVideoInfo', { VideoId: a.mediaId });
      expect(info.Video.ReferenceId).toBeUndefined();
      const byRef = await callVod(vodClient(lax), 'GetVideoInfos', { ReferenceIds: ref });
      expect(byRef).toMatchObject({ VideoList: [], NonExistReferenceIds: [ref] });
      expect((await rejectionOf(() => createVideo(lax, { ReferenceId: 'bad id!' }))).code).toBe(
        'InvalidParameter',
      );
    } finally {
      await lax.close();
    }
  });
});

describe('VOD signatures', () => {
  it('refuses a wrong secret and an unknown key with the gateway codes', async () => {
    const wrong = await rejectionOf(() =>
      callVod(vod({ accessKeySecret: 'nope' }), 'GetVideoInfo', { VideoId: 'x' }),
    );
    expect(wrong).toMatchObject({ statusCode: 400, code: 'SignatureDoesNotMatch' });
    const unknown = await rejectionOf(() =>
      callVod(vod({ accessKeyId: 'nobody' }), 'GetVideoInfo', { VideoId: 'x' }),
    );
    expect(unknown).toMatchObject({ statusCode: 404, code: 'InvalidAccessKeyId.NotFound' });
  });

  it('refuses upload (STS) credentials on the VOD API with Forbidden.RAM', async () => {
    const t = await createVideo(emu);
    const err = await rejectionOf(() =>
      callVod(
        vod({
          accessKeyId: t.accessKeyId,
          accessKeySecret: t.accessKeySecret,
          securityToken: t.securityToken,
        }),
        'GetVideoInfo',
        { VideoId: t.mediaId },
      ),
    );
    expect(err).toMatchObject({ statusCode: 403, code: 'Forbidden.RAM' });
  });

  it('ACS3-HMAC-SHA256: a replay is a used nonce; tampering with query, body or date is refused', async () => {
    const c = await capture('CreateUploadVideo', { Title: 'T (1)!', FileName: 'f.mp4' });
    expect(String(c.headers.authorization)).toMatch(/^ACS3-HMAC-SHA256 Credential=emulator-access-key-id,/);
    const first = await replay(c);
    expect(first.status).toBe(200);
    expect(first.body.VideoId).toMatch(/^[0-9a-f]{32}$/);
    expect((await replay(c)).body.Code).toBe('SignatureNonceUsed');
    const tamperedQuery = await replay(c, { url: c.url.replace('f.mp4', 'g.mp4') });
    expect(tamperedQuery).toMatchObject({ status: 400, body: { Code: 'SignatureDoesNotMatch' } });
    // Routed as VOD whatever the Host, and the Host is signed.
    const otherHost = await replay(c, { headers: { ...c.headers, host: 'vod.cn-shanghai.aliyuncs.com' } });
    expect(otherHost.body.Code).toBe('SignatureDoesNotMatch');
    const tamperedBody = await replay(c, { body: Buffer.from('Title=other') });
    expect(tamperedBody.body.Code).toBe('SignatureDoesNotMatch');
    const old = new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const stale = await replay(c, { headers: { ...c.headers, 'x-acs-date': old } });
    expect(stale.body.Code).toBe('InvalidTimeStamp.Expired');
  });

  it("RPC v1 (openapi-core signatureAlgorithm 'v2', HMAC-SHA1) is accepted; a tampered one is refused", async () => {
    const created = await callVod(vod({ signatureAlgorithm: 'v2' }), 'CreateUploadVideo', {
      Title: 'v1 (x)',
      FileName: 'v.mov',
    });
    const info = await callVod(vod({ signatureAlgorithm: 'v2' }), 'GetVideoInfo', {
      VideoId: created.VideoId,
    });
    expect(info.Video.Title).toBe('v1 (x)');
    const wrong = await rejectionOf(() =>
      callVod(vod({ signatureAlgorithm: 'v2', accessKeySecret: 'bad' }), 'GetVideoInfo', {
        VideoId: created.VideoId,
      }),
    );
    expect(wrong.code).toBe('SignatureDoesNotMatch');

    const c = await capture('GetVideoInfo', { VideoId: created.VideoId }, { signatureAlgorithm: 'v2' });
    expect(c.url).toContain('Signature=');
    expect(c.url).toContain('SignatureMethod=HMAC-SHA1');
    const tampered = await replay(c, { url: c.url.replace(created.VideoId, 'f'.repeat(32)) });
    expect(tampered).toMatchObject({ status: 400, body: { Code: 'SignatureDoesNotMatch' } });
    const ok = await replay(c);
    expect(ok.status).toBe(200);
    expect((await replay(c)).body.Code).toBe('SignatureNonceUsed');
  });

  it('RPC v1 parameters may come in a form body (pop-core style)', async () => {
    const c = await capture('GetVideoInfo', { VideoId: 'f'.repeat(32) }, { signatureAlgorithm: 'v2' });
    const [path, query] = c.url.split('?');
    const moved = await replay(c, {
      url: path!,
      body: Buffer.from(query!),
      headers: { ...c.headers, 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(moved).toMatchObject({ status: 404, body: { Code: 'InvalidVideo.NotFound' } });
  });
});
