import http from 'node:http';
import type OSS from 'ali-oss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../emulator.js';
import {
  createVideo,
  listParts,
  ossForAccount,
  ossForUpload,
  rejectionOf,
  testData,
  uploadPartBuffer,
} from '../test-support/clients.js';
import {
  deriveV4SigningKey,
  parseV4Timestamp,
  uriEncode,
  V4SigningKeys,
  v4CanonicalRequest,
  v4Signature,
  v4StringToSign,
} from './oss-v4-signature.js';

/** A raw HTTP request to the emulator (for what no client would send). */
function raw(
  emu: Emulator,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${emu.url}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

const xmlField = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];

describe('OSS V4 canonical request (written from the OSS reference)', () => {
  it('encodes the URI except "/", sorts every query parameter, signs content-type, content-md5, x-oss-* and the additional headers', () => {
    const canonical = v4CanonicalRequest(
      {
        method: 'put',
        headers: {
          'content-type': 'video/mp4',
          'x-oss-date': '20261122T010813Z',
          'x-oss-content-sha256': 'UNSIGNED-PAYLOAD',
          'x-oss-security-token': ' TOKEN ',
          host: 'b.oss-cn-shanghai.aliyuncs.com',
          'user-agent': 'not signed',
        },
        bucket: 'b',
        key: 'dir/video 1+(x).mp4',
        query: new Map([
          ['uploadId', 'U1'],
          ['partNumber', '2'],
          ['uploads', ''],
        ]),
      },
      ['host'],
      false,
    );
    expect(canonical).toBe(
      [
        'PUT',
        '/b/dir/video%201%2B%28x%29.mp4',
        'partNumber=2&uploadId=U1&uploads',
        'content-type:video/mp4',
        'host:b.oss-cn-shanghai.aliyuncs.com',
        'x-oss-content-sha256:UNSIGNED-PAYLOAD',
        'x-oss-date:20261122T010813Z',
        'x-oss-security-token:TOKEN',
        '',
        'host',
        'UNSIGNED-PAYLOAD',
      ].join('\n'),
    );
    const scope = { accessKeyId: 'AK', date: '20261122', region: 'cn-shanghai', product: 'oss' };
    const sts = v4StringToSign('20261122T010813Z', scope, canonical);
    expect(sts.split('\n').slice(0, 3)).toEqual([
      'OSS4-HMAC-SHA256',
      '20261122T010813Z',
      '20261122/cn-shanghai/oss/aliyun_v4_request',
    ]);
    expect(sts.split('\n')[3]).toMatch(/^[0-9a-f]{64}$/);
    const key = deriveV4SigningKey('secret', scope);
    expect(v4Signature(key, sts)).toMatch(/^[0-9a-f]{64}$/);
    expect(v4Signature(key, sts)).not.toBe(
      v4Signature(deriveV4SigningKey('secret', { ...scope, region: 'cn-beijing' }), sts),
    );
    // The key cache answers the same key for the same secret and scope, another for another secret.
    const keys = new V4SigningKeys(2);
    expect(v4Signature(keys.get('secret', scope), sts)).toBe(v4Signature(key, sts));
    expect(v4Signature(keys.get('other', scope), sts)).not.toBe(v4Signature(key, sts));
    keys.get('third', scope);
    expect(v4Signature(keys.get('secret', scope), sts)).toBe(v4Signature(key, sts));
  });

  it('leaves out the URL signature itself and encodes RFC 3986 style', () => {
    const c = v4CanonicalRequest(
      {
        method: 'GET',
        headers: {},
        bucket: 'b',
        key: undefined,
        query: new Map([
          ['x-oss-signature', 'abc'],
          ['prefix', "a b!'*"],
        ]),
      },
      [],
      true,
    );
    expect(c.split('\n').slice(0, 3)).toEqual(['GET', '/b/', 'prefix=a%20b%21%27%2A']);
    expect(uriEncode('~-_.')).toBe('~-_.');
    expect(parseV4Timestamp('20260230T000000Z')).toBeNaN();
    expect(parseV4Timestamp('20261122T010813Z')).toBe(Date.UTC(2026, 10, 22, 1, 8, 13));
  });
});

describe('V4 with the real ali-oss (authorizationV4) on a v4-only emulator', () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startEmulator({ ossSignatures: 'v4-only' });
  });
  afterAll(async () => {
    await emu?.close();
  });

  it('uploads and reads with the account pair and with VOD STS credentials', async () => {
    const owner = ossForAccount(emu, 'mediaferry-local');
    await owner.put('dir/a b+c.txt', Buffer.from('hello'), { headers: { 'x-oss-meta-k': 'v' } });
    expect((await owner.get('dir/a b+c.txt')).content.toString()).toBe('hello');
    // List timestamps as OSS sends them: whole seconds with `.000Z` (Python's oss2 parses only that).
    const listed = await owner.list({ prefix: 'dir/', 'max-keys': 10 }, {});
    expect(listed.objects?.[0]?.lastModified).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    const { uploadId } = await owner.initMultipartUpload('dir/open.bin');
    await uploadPartBuffer(owner, 'dir/open.bin', uploadId, 1, testData(10));
    const parts = await listParts(owner, 'dir/open.bin', uploadId);
    expect(parts.parts.LastModified).toMatch(/\.000Z$/);
    const uploads = await owner.listUploads({ prefix: 'dir/' });
    expect(uploads.uploads.map((u: { initiated: string }) => u.initiated)).toEqual([
      expect.stringMatching(/\.000Z$/),
    ]);
    await owner.abortMultipartUpload('dir/open.bin', uploadId);
    const t = await createVideo(emu);
    const result = await ossForUpload(t).multipartUpload(t.key, testData(300 * 1024), { partSize: 102400 });
    expect(result.res.status).toBe(200);
    const media = await emu.admin.media(t.mediaId);
    expect(media.status).toBe('UploadSucc');
  });

  it('refuses V1 signatures like a bucket created today (403 AccessDenied)', async () => {
    const v1 = ossForAccount(emu, 'mediaferry-local', { authorizationV4: false });
    const err = await rejectionOf(() => v1.put('v1.txt', Buffer.from('x')));
    expect(err).toMatchObject({ status: 403, code: 'AccessDenied' });
    expect(err.message).toMatch(/Signature Version 4/);
  });

  it('answers the cloud error codes: wrong secret, wrong region, skewed clock', async () => {
    const wrongSecret = await rejectionOf(() =>
      ossForAccount(emu, 'mediaferry-local', { accessKeySecret: 'nope' }).put('x.txt', Buffer.from('x')),
    );
    expect(wrongSecret).toMatchObject({
      status: 403,
      code: 'SignatureDoesNotMatch',
      ecCode: '0002-00000201',
    });
    const wrongRegion = await rejectionOf(() =>
      ossForAccount(emu, 'mediaferry-local', { region: 'oss-cn-beijing' }).put('x.txt', Buffer.from('x')),
    );
    expect(wrongRegion).toMatchObject({ status: 400, code: 'InvalidArgument', ecCode: '0002-00000228' });
    const skewed = await rejectionOf(() =>
      ossForAccount(emu, 'mediaferry-local', { amendTimeSkewed: 20 * 60 * 1000 } as object).put(
        'x.txt',
        Buffer.from('x'),
      ),
    );
    expect(skewed).toMatchObject({ status: 403, code: 'RequestTimeTooSkewed' });
  });

  it('checks the STS token with V4 too (expired, foreign)', async () => {
    const a = await createVideo(emu);
    const b = await createVideo(emu);
    const mismatch = await rejectionOf(() =>
      ossForUpload({ ...a, securityToken: b.securityToken }).put(a.key, Buffer.from('x')),
    );
    expect(mismatch).toMatchObject({ status: 403, code: 'AccessKeyIdAndSecurityTokenNotMatch' });
    await emu.admin.expireCredentials();
    const expired = await rejectionOf(() => ossForUpload(a).put(a.key, Buffer.from('x')));
    expect(expired).toMatchObject({ status: 403, code: 'SecurityTokenExpired' });
  });

  it('refuses malformed V4 headers with InvalidArgument and their EC', async () => {
    const date = new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
    const day = date.slice(0, 8);
    const base = {
      host: `mediaferry-local.oss-${emu.region}.aliyuncs.com`,
      'x-oss-date': date,
      'x-oss-content-sha256': 'UNSIGNED-PAYLOAD',
    };
    const auth = (credential: string, extra = '') =>
      `OSS4-HMAC-SHA256 Credential=${credential}${extra},Signature=${'0'.repeat(64)}`;
    const good = `${emu.accessKeyId}/${day}/${emu.region}/oss/aliyun_v4_request`;
    const cases: [Record<string, string>, number, string, string | undefined][] = [
      [
        { authorization: auth(`${emu.accessKeyId}/${day}/${emu.region}/oss/abc`) },
        400,
        'InvalidArgument',
        '0002-00000213',
      ],
      [
        { authorization: auth(`${emu.accessKeyId}/2022-12-20/${emu.region}/oss/aliyun_v4_request`) },
        400,
        'InvalidArgument',
        '0002-00000212',
      ],
      [
        { authorization: auth(`${emu.accessKeyId}/${day}/${emu.region}/ecs/aliyun_v4_request`) },
        400,
        'InvalidArgument',
        '0002-00000227',
      ],
      [{ authorization: auth(good, ',AdditionalHeaders=') }, 400, 'InvalidArgument', '0002-00000209'],
      [{ authorization: auth(good, ',AdditionalHeaders=host;') }, 400, 'InvalidArgument', '0002-00000210'],
      [{ authorization: auth(good, ',AdditionalHeaders=range') }, 400, 'InvalidArgument', '0002-00000211'],
      [{ authorization: auth(good), 'x-oss-content-sha256': 'abc' }, 400, 'InvalidArgument', '0002-00000214'],
      [{ authorization: auth(good) }, 403, 'SignatureDoesNotMatch', '0002-00000201'],
    ];
    for (const [headers, status, code, ec] of cases) {
      const res = await raw(emu, 'GET', '/x.txt', { ...base, ...headers });
      expect({ status: res.status, code: xmlField(res.body, 'Code'), ec: xmlField(res.body, 'EC') }).toEqual({
        status,
        code,
        ec,
      });
    }
  });

  // A signed URL carries no Host override, so URLs use path style (`http://localhost:PORT/<bucket>/<key>`),
  // as a browser would reach the emulator.
  const pathStyle = () =>
    ({ endpoint: `http://localhost:${emu.port}`, sldEnable: true }) as Partial<OSS.Options>;

  it('serves V4 signed URLs for GET and PUT; expired or tampered ones answer 403', async () => {
    const owner = ossForAccount(emu, 'mediaferry-local', pathStyle());
    const putUrl = await owner.signatureUrlV4(
      'PUT',
      60,
      { headers: { 'Content-Type': 'text/plain' } },
      'signed/u.txt',
    );
    const put = await fetch(putUrl, {
      method: 'PUT',
      body: 'via url',
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(put.status).toBe(200);
    const getUrl = await owner.signatureUrlV4('GET', 60, {}, 'signed/u.txt');
    const got = await fetch(getUrl);
    expect(got.status).toBe(200);
    expect(await got.text()).toBe('via url');

    const tampered = new URL(getUrl);
    tampered.searchParams.set('x-oss-expires', '61');
    const bad = await fetch(tampered);
    expect(bad.status).toBe(403);
    const badBody = await bad.text();
    expect(xmlField(badBody, 'Code')).toBe('SignatureDoesNotMatch');

    const shortUrl = await owner.signatureUrlV4('GET', 1, {}, 'signed/u.txt');
    await new Promise((r) => setTimeout(r, 2100));
    const expired = await fetch(shortUrl);
    expect(expired.status).toBe(403);
    expect(await expired.text()).toContain('Request has expired.');

    // STS credentials sign URLs too (the token travels as x-oss-security-token).
    const t = await createVideo(emu);
    const stsUrl = await ossForUpload(t, pathStyle()).signatureUrlV4('PUT', 60, {}, t.key);
    expect(new URL(stsUrl).searchParams.get('x-oss-security-token')).toBe(t.securityToken);
    // A Uint8Array body carries no Content-Type (a string would add one the URL did not sign).
    const stsPut = await fetch(stsUrl, { method: 'PUT', body: Buffer.from('browser bytes') });
    expect(stsPut.status, await stsPut.text()).toBe(200);
    expect((await emu.admin.media(t.mediaId)).status).toBe('UploadSucc');
  });

  it('answers 501 NotImplemented for V1 signed URLs and PostObject form uploads', async () => {
    const v1Url = ossForAccount(emu, 'mediaferry-local', {
      ...pathStyle(),
      authorizationV4: false,
    }).signatureUrl('signed/u.txt');
    const res = await fetch(v1Url);
    expect(res.status).toBe(501);
    expect(xmlField(await res.text(), 'Code')).toBe('NotImplemented');
    const form = await raw(
      emu,
      'POST',
      '/',
      {
        host: `mediaferry-local.oss-${emu.region}.aliyuncs.com`,
        'content-type': 'multipart/form-data; boundary=x',
      },
      Buffer.from('--x--\r\n'),
    );
    expect(form.status).toBe(501);
    expect(xmlField(form.body, 'Code')).toBe('NotImplemented');
    // Real operations the emulator does not serve answer 501 too, whatever their method.
    const owner = ossForAccount(emu, 'mediaferry-local');
    await owner.put('n/a.txt', Buffer.from('x'));
    for (const call of [
      () => owner.putACL('n/a.txt', 'private'),
      () => owner.deleteMulti(['n/a.txt']),
      () => owner.copy('n/b.txt', 'n/a.txt'),
      () => owner.putBucket('mediaferry-local'),
    ]) {
      expect(await rejectionOf(call)).toMatchObject({ status: 501, code: 'NotImplemented' });
    }
  });
});

describe('V1 stays accepted by default (v1-and-v4, a bucket created before 2025-09-01)', () => {
  it('serves ali-oss with V1 and with V4 side by side', async () => {
    const emu = await startEmulator();
    try {
      expect(emu.ossSignatures).toBe('v1-and-v4');
      const v1 = ossForAccount(emu, 'mediaferry-local', { authorizationV4: false });
      const v4 = ossForAccount(emu, 'mediaferry-local');
      await v1.put('both.txt', Buffer.from('one'));
      expect((await v4.get('both.txt')).content.toString()).toBe('one');
      const wrong = await rejectionOf(() =>
        ossForAccount(emu, 'mediaferry-local', { authorizationV4: false, accessKeySecret: 'x' }).put(
          'both.txt',
          Buffer.from('x'),
        ),
      );
      expect(wrong).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch', ecCode: '0002-00000040' });
    } finally {
      await emu.close();
    }
  });
});
