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
  vodClient,
} from '../test-support/clients.js';
import { canonicalizedResource, ossSign, ossStringToSign } from './oss-signature.js';

describe('OSS V1 string to sign', () => {
  it('matches the reference worked example (STS UploadPart, key with space and plus)', () => {
    const date = 'Sun, 22 Nov 2026 01:08:13 GMT';
    const s = ossStringToSign(
      'put',
      { 'content-type': 'video/mp4', 'x-oss-date': date, 'x-oss-security-token': 'STSTOKEN', host: 'x' },
      'mybucket',
      'dir/video 1+.mp4',
      new Map([
        ['uploadId', 'UPLOAD123'],
        ['partNumber', '1'],
        ['max-parts', '5'],
      ]),
    );
    expect(s).toBe(
      [
        'PUT',
        '',
        'video/mp4',
        date,
        `x-oss-date:${date}`,
        'x-oss-security-token:STSTOKEN',
        '/mybucket/dir/video 1+.mp4?partNumber=1&uploadId=UPLOAD123',
      ].join('\n'),
    );
    expect(ossSign('secret', s)).toMatch(/^[A-Za-z0-9+/]{27}=$/);
  });

  it('prefers Date over x-oss-date and signs bare sub-resources by name', () => {
    const s = ossStringToSign(
      'GET',
      { date: 'D1', 'x-oss-date': 'D2' },
      'b',
      undefined,
      new Map([['uploads', '']]),
    );
    expect(s.split('\n')[3]).toBe('D1');
    expect(canonicalizedResource('b', undefined, new Map([['uploads', '']]))).toBe('/b/?uploads');
  });
});

describe('OSS credential checks with the real ali-oss', () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startEmulator({ ossSignatures: 'v4-only' });
  });
  afterAll(async () => {
    await emu?.close();
  });

  it('refuses a wrong account secret (SignatureDoesNotMatch) and an unknown key (InvalidAccessKeyId)', async () => {
    const wrong = await rejectionOf(() =>
      ossForAccount(emu, 'mediaferry-local', { accessKeySecret: 'not-the-secret' }).put(
        'a.txt',
        Buffer.from('x'),
      ),
    );
    expect(wrong).toMatchObject({
      status: 403,
      code: 'SignatureDoesNotMatch',
      name: 'SignatureDoesNotMatchError',
    });
    const unknown = await rejectionOf(() =>
      ossForAccount(emu, 'mediaferry-local', { accessKeyId: 'nobody' }).put('a.txt', Buffer.from('x')),
    );
    expect(unknown).toMatchObject({ status: 403, code: 'InvalidAccessKeyId' });
  });

  it('refuses an STS credential with a wrong secret, a foreign token, or no token', async () => {
    const a = await createVideo(emu);
    const b = await createVideo(emu);
    const wrongSecret = await rejectionOf(() =>
      ossForUpload(a, { accessKeySecret: 'wrong' }).put(a.key, Buffer.from('x')),
    );
    expect(wrongSecret.code).toBe('SignatureDoesNotMatch');
    const mismatch = await rejectionOf(() =>
      ossForUpload({ ...a, securityToken: b.securityToken }).put(a.key, Buffer.from('x')),
    );
    expect(mismatch).toMatchObject({ status: 403, code: 'AccessKeyIdAndSecurityTokenNotMatch' });
    const forged = await rejectionOf(() =>
      ossForUpload({ ...a, securityToken: 'CAISforged' }).put(a.key, Buffer.from('x')),
    );
    expect(forged).toMatchObject({ status: 403, code: 'InvalidSecurityToken', ecCode: '0002-00000008' });
    const noToken = await rejectionOf(() =>
      ossForAccount(emu, a.bucket, { accessKeyId: a.accessKeyId, accessKeySecret: a.accessKeySecret }).put(
        a.key,
        Buffer.from('x'),
      ),
    );
    expect(noToken.code).toBe('InvalidAccessKeyId');
  });

  it('scopes STS credentials to their own object key (AccessDenied elsewhere)', async () => {
    const a = await createVideo(emu);
    const b = await createVideo(emu);
    const oss = ossForUpload(a);
    await oss.put(a.key, Buffer.from('mine'));
    const otherKey = await rejectionOf(() => oss.put(b.key, Buffer.from('not mine')));
    expect(otherKey).toMatchObject({ status: 403, code: 'AccessDenied' });
    const otherBucket = await rejectionOf(() =>
      ossForUpload({ ...a, bucket: 'mediaferry-local' }).put(a.key, Buffer.from('x')),
    );
    expect(otherBucket.code).toBe('AccessDenied');
    const listing = await rejectionOf(() => oss.listUploads({}));
    expect(listing.code).toBe('AccessDenied');
    // The account owns every bucket: it reads and lists the VOD object.
    const owner = ossForAccount(emu, emu.vodBucket);
    expect((await owner.get(a.key)).content.toString()).toBe('mine');
    expect((await owner.list({ prefix: a.key, 'max-keys': 10 }, {})).objects?.map((o) => o.name)).toEqual([
      a.key,
    ]);
  });

  it('refuses an expired token (expire-now knob) and accepts the refreshed credential', async () => {
    const t = await createVideo(emu);
    await ossForUpload(t).put(t.key, Buffer.from('before'));
    expect(await emu.admin.expireCredentials()).toBeGreaterThan(0);
    const expired = await rejectionOf(() => ossForUpload(t).put(t.key, Buffer.from('after')));
    expect(expired).toMatchObject({ status: 403, code: 'SecurityTokenExpired', ecCode: '0002-00000007' });
    const refreshed = decodeUpload(
      await callVod(vodClient(emu), 'RefreshUploadVideo', { VideoId: t.mediaId }),
    );
    expect(refreshed.key).toBe(t.key);
    expect(refreshed.accessKeyId).not.toBe(t.accessKeyId);
    await ossForUpload(refreshed).put(t.key, Buffer.from('after'));
  });

  it('refuses requests whose clock is more than 15 minutes off (RequestTimeTooSkewed)', async () => {
    const oss = ossForAccount(emu, 'mediaferry-local', { amendTimeSkewed: -20 * 60 * 1000 } as object);
    const err = await rejectionOf(() => oss.put('skew.txt', Buffer.from('x')));
    expect(err).toMatchObject({ status: 403, code: 'RequestTimeTooSkewed' });
  });
});

describe('credential lifetime', () => {
  it('STS credentials expire after credentialTtlSeconds', async () => {
    const emu = await startEmulator({ ossSignatures: 'v4-only', credentialTtlSeconds: 1 });
    try {
      const t = await createVideo(emu);
      const auth = JSON.parse(Buffer.from(t.body.UploadAuth, 'base64').toString('utf8'));
      expect(auth.Expiration).toBe('1');
      const oss = ossForUpload(t);
      await oss.put(t.key, testData(10));
      await new Promise((r) => setTimeout(r, Date.parse(t.expireUTCTime) + 1100 - Date.now()));
      const err = await rejectionOf(() => oss.put(t.key, testData(10)));
      expect(err.code).toBe('SecurityTokenExpired');
    } finally {
      await emu.close();
    }
  });
});
