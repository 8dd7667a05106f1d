import { crc64 } from '@mediaferry/crc64';
import type OSS from 'ali-oss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../emulator.js';
import {
  callVod,
  completeWithXml,
  completeXml,
  createVideo,
  type LooseResult,
  listParts,
  ossForAccount,
  ossForUpload,
  rejectionOf,
  testData,
  uploadPartBuffer,
  vodClient,
} from '../test-support/clients.js';

const KiB = 1024;
const MiB = 1024 * KiB;

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ ossSignatures: 'v4-only' });
});
afterAll(async () => {
  await emu?.close();
});

function header(res: { headers: unknown }, name: string): string | undefined {
  return (res.headers as Record<string, string>)[name];
}

describe('VOD upload with ali-oss multipartUpload', () => {
  it.each([100 * KiB, 256 * KiB])(
    'uploads 3 MiB in %i-byte parts, completes the media, reads back',
    async (partSize) => {
      const data = testData(3 * MiB, partSize);
      await emu.admin.clearRequests();
      const t = await createVideo(emu, { Title: 'multi', FileName: 'multi.mp4', FileSize: data.length });
      const oss = ossForUpload(t);
      const result = await oss.multipartUpload(t.key, data, { partSize, parallel: 4 });
      expect(result.res.status).toBe(200);

      const info = await callVod(vodClient(emu), 'GetVideoInfo', { VideoId: t.mediaId });
      expect(info.Video.Status).toBe('UploadSucc');
      expect(info.Video.Size).toBe(data.length);

      const got = await oss.get(t.key);
      expect(got.content.equals(data)).toBe(true);
      expect(header(got.res, 'x-oss-hash-crc64ecma')).toBe(crc64(data).toString());
      expect(header(got.res, 'x-oss-object-type')).toBe('Multipart');
      expect(header(got.res, 'content-type')).toBe('video/mp4');
      expect(header(got.res, 'server')).toBe('AliyunOSS');
      expect(header(got.res, 'x-oss-request-id')).toMatch(/^[0-9A-F]{24}$/);

      const parts = Math.ceil(data.length / partSize);
      const ops = (await emu.admin.requests()).map((e) => e.operation);
      expect(ops).toEqual([
        'CreateUploadVideo',
        'InitiateMultipartUpload',
        ...Array<string>(parts).fill('UploadPart'),
        'CompleteMultipartUpload',
        'GetVideoInfo',
        'GetObject',
      ]);
      const partEntries = (await emu.admin.requests({ operation: 'UploadPart' })).map((e) => e.partNumber);
      expect(partEntries.sort((a, b) => a! - b!)).toEqual(Array.from({ length: parts }, (_, i) => i + 1));
      const [stored] = (await emu.admin.listObjects(emu.vodBucket)).filter((o) => o.key === t.key);
      expect(stored).toMatchObject({ size: data.length, parts, crc64: crc64(data).toString() });
    },
  );

  it('putStream (chunked) stores a Normal object with its CRC, ETag = MD5', async () => {
    const data = testData(700 * KiB, 7);
    const t = await createVideo(emu);
    const oss = ossForUpload(t);
    const { Readable } = await import('node:stream');
    const res = await oss.putStream(
      t.key,
      Readable.from([data.subarray(0, 300_000), data.subarray(300_000)]),
    );
    expect(res.res.status).toBe(200);
    const head = await oss.head(t.key);
    expect(header(head.res, 'x-oss-object-type')).toBe('Normal');
    expect(header(head.res, 'x-oss-hash-crc64ecma')).toBe(crc64(data).toString());
    expect(header(head.res, 'content-length')).toBe(String(data.length));
    const { createHash } = await import('node:crypto');
    expect(header(head.res, 'etag')).toBe(`"${createHash('md5').update(data).digest('hex').toUpperCase()}"`);
    const info = await callVod(vodClient(emu), 'GetVideoInfo', { VideoId: t.mediaId });
    expect(info.Video.Status).toBe('UploadSucc');
  });

  it('lists the parts of an interrupted upload (paged), then resumes it from the checkpoint', async () => {
    const data = testData(3 * MiB, 3);
    const t = await createVideo(emu);
    const oss = ossForUpload(t);
    // biome-ignore lint/suspicious/noExplicitAny: ali-oss checkpoint object
    let checkpoint: any;
    const err = await rejectionOf(() =>
      oss.multipartUpload(t.key, data, {
        partSize: 100 * KiB,
        parallel: 1,
        progress: async (_p: number, cpt: unknown) => {
          checkpoint = cpt;
          if (checkpoint?.doneParts?.length >= 5) oss.cancel();
        },
      }),
    );
    expect(err.name).toBe('cancel');
    const uploadId: string = checkpoint.uploadId;
    const done: number = checkpoint.doneParts.length;
    expect(done).toBeGreaterThanOrEqual(5);

    const page1 = await listParts(oss, t.key, uploadId, { 'max-parts': '2' });
    expect(page1.isTruncated).toBe('true'); // ali-oss passes the XML text through
    expect(page1.parts.map((p: { PartNumber: string }) => Number(p.PartNumber))).toEqual([1, 2]);
    expect(page1.nextPartNumberMarker).toBe('2');
    const rest = await listParts(oss, t.key, uploadId, { 'part-number-marker': '2' });
    expect(rest.isTruncated).toBe('false');
    expect(rest.parts.map((p: { PartNumber: string }) => Number(p.PartNumber))).toEqual(
      Array.from({ length: done - 2 }, (_, i) => i + 3),
    );
    const first = page1.parts[0] as { ETag: string; Size: string; HashCrc64ecma: string };
    expect(first.Size).toBe(String(100 * KiB));
    expect(first.HashCrc64ecma).toBe(crc64(data.subarray(0, 100 * KiB)).toString());

    const uploads = await ossForAccount(emu, emu.vodBucket).listUploads({ prefix: t.key });
    expect(uploads.uploads.map((u: { uploadId: string }) => u.uploadId)).toEqual([uploadId]);

    await emu.admin.clearRequests();
    await oss.multipartUpload(t.key, data, { partSize: 100 * KiB, parallel: 4, checkpoint });
    const uploaded = await emu.admin.requests({ operation: 'UploadPart' });
    expect(uploaded.length).toBe(Math.ceil(data.length / (100 * KiB)) - done);
    expect((await oss.get(t.key)).content.equals(data)).toBe(true);
  });

  it('serves Range GETs across part boundaries with 206 and Content-Range', async () => {
    const data = testData(600 * KiB, 11);
    const t = await createVideo(emu);
    const oss = ossForUpload(t);
    await oss.multipartUpload(t.key, data, { partSize: 100 * KiB, parallel: 2 });
    const mid = await oss.get(t.key, { headers: { Range: 'bytes=102000-307300' } });
    expect(mid.res.status).toBe(206);
    expect(header(mid.res, 'content-range')).toBe(`bytes 102000-307300/${data.length}`);
    expect(mid.content.equals(data.subarray(102000, 307301))).toBe(true);
    const tail = await oss.get(t.key, { headers: { Range: 'bytes=-1000' } });
    expect(tail.content.equals(data.subarray(data.length - 1000))).toBe(true);
    const open = await oss.get(t.key, { headers: { Range: `bytes=${data.length - 10}-` } });
    expect(open.content.equals(data.subarray(data.length - 10))).toBe(true);
    const beyond = await rejectionOf(() => oss.get(t.key, { headers: { Range: `bytes=${data.length}-` } }));
    expect(beyond.status).toBe(416);
    expect(beyond.code).toBe('InvalidRange');
  });
});

describe('CompleteMultipartUpload errors', () => {
  let oss: OSS;
  beforeAll(() => {
    oss = ossForAccount(emu, 'mediaferry-local');
  });

  async function twoParts(key: string, sizes: [number, number]) {
    const { uploadId } = await oss.initMultipartUpload(key);
    const p1 = await uploadPartBuffer(oss, key, uploadId, 1, testData(sizes[0], 1));
    const p2 = await uploadPartBuffer(oss, key, uploadId, 2, testData(sizes[1], 2));
    return {
      uploadId,
      parts: [
        { number: 1, etag: p1.etag },
        { number: 2, etag: p2.etag },
      ],
    };
  }

  it('InvalidPartOrder when the list is not ascending', async () => {
    const { uploadId, parts } = await twoParts('err/order.bin', [100 * KiB, 10]);
    const err = await rejectionOf(() =>
      completeWithXml(oss, 'err/order.bin', uploadId, completeXml([parts[1]!, parts[0]!])),
    );
    expect(err.code).toBe('InvalidPartOrder');
    expect(err.status).toBe(400);
    expect(err.requestId).toMatch(/^[0-9A-F]{24}$/);
  });

  it('InvalidPart for a wrong ETag or a missing part', async () => {
    const { uploadId, parts } = await twoParts('err/part.bin', [100 * KiB, 10]);
    const wrong = await rejectionOf(() =>
      oss.completeMultipartUpload('err/part.bin', uploadId, [
        parts[0]!,
        { number: 2, etag: '"0123456789ABCDEF0123456789ABCDEF"' },
      ]),
    );
    expect(wrong.code).toBe('InvalidPart');
    const missing = await rejectionOf(() =>
      oss.completeMultipartUpload('err/part.bin', uploadId, [...parts, { number: 3, etag: parts[0]!.etag }]),
    );
    expect(missing.code).toBe('InvalidPart');
    // The ETag is compared without quotes and case, as clients echo it in various forms.
    const ok = await oss.completeMultipartUpload('err/part.bin', uploadId, [
      { number: 1, etag: parts[0]!.etag.replace(/"/g, '').toLowerCase() },
      parts[1]!,
    ]);
    expect(ok.res.status).toBe(200);
  });

  it('EntityTooSmall when a part other than the last is under 100 KiB', async () => {
    const { uploadId, parts } = await twoParts('err/small.bin', [100 * KiB - 1, 10]);
    const err = await rejectionOf(() => oss.completeMultipartUpload('err/small.bin', uploadId, parts));
    expect(err.code).toBe('EntityTooSmall');
  });

  it('NoSuchUpload after abort (204), for Complete, UploadPart and ListParts', async () => {
    const { uploadId, parts } = await twoParts('err/abort.bin', [100 * KiB, 10]);
    const aborted = (await oss.abortMultipartUpload('err/abort.bin', uploadId)) as unknown as LooseResult;
    expect(aborted.res.status).toBe(204);
    for (const call of [
      () => oss.completeMultipartUpload('err/abort.bin', uploadId, parts),
      () => uploadPartBuffer(oss, 'err/abort.bin', uploadId, 3, testData(10)),
      () => listParts(oss, 'err/abort.bin', uploadId),
    ]) {
      const err = await rejectionOf(call);
      expect(err.code).toBe('NoSuchUpload');
      expect(err.status).toBe(404);
    }
  });

  it('MalformedXML, and InvalidArgument for part numbers outside 1..10000', async () => {
    const { uploadId } = await oss.initMultipartUpload('err/xml.bin');
    const bad = await rejectionOf(() => completeWithXml(oss, 'err/xml.bin', uploadId, '<Complete><Part>'));
    expect(bad.code).toBe('MalformedXML');
    for (const n of [0, 10001]) {
      const err = await rejectionOf(() => uploadPartBuffer(oss, 'err/xml.bin', uploadId, n, testData(10)));
      expect(err.code).toBe('InvalidArgument');
    }
  });

  it('re-uploading a part number overwrites it; upload ids coexist per key', async () => {
    const key = 'err/overwrite.bin';
    const a = await oss.initMultipartUpload(key);
    const b = await oss.initMultipartUpload(key);
    expect(a.uploadId).toMatch(/^[0-9A-F]{32}$/);
    await uploadPartBuffer(oss, key, a.uploadId, 1, testData(100 * KiB, 1));
    const second = testData(100 * KiB, 99);
    const p1 = await uploadPartBuffer(oss, key, a.uploadId, 1, second);
    const listed = await listParts(oss, key, a.uploadId);
    expect(listed.parts).toMatchObject({ PartNumber: '1', ETag: p1.etag }); // one part: xml2js gives an object
    const uploads = await oss.listUploads({ prefix: key });
    expect(uploads.uploads.map((u: { uploadId: string }) => u.uploadId).sort()).toEqual(
      [a.uploadId, b.uploadId].sort(),
    );
    const page = await oss.listUploads({ prefix: key, 'max-uploads': 1 });
    expect(page.uploads.length).toBe(1);
    expect(page.nextUploadIdMarker).toBe([a.uploadId, b.uploadId].sort()[0]);
    await oss.completeMultipartUpload(key, a.uploadId, [{ number: 1, etag: p1.etag }]);
    expect((await oss.get(key)).content.equals(second)).toBe(true);
    expect(
      (await oss.listUploads({ prefix: key })).uploads.map((u: { uploadId: string }) => u.uploadId),
    ).toEqual([b.uploadId]);
  });
});

describe('plain objects', () => {
  it('put with Content-MD5, head with meta, BadDigest, delete → NoSuchKey, NoSuchBucket', async () => {
    const oss = ossForAccount(emu, 'mediaferry-local');
    const key = 'dir/video 1+.mp4';
    const body = testData(5000, 5);
    await oss.put(key, body, { meta: { owner: 'test', uid: 0, pid: 0 } });
    const head = await oss.head(key);
    expect(head.meta).toMatchObject({ owner: 'test' });
    expect(header(head.res, 'last-modified')).toMatch(/GMT$/);
    expect((await oss.list({ prefix: 'dir/', 'max-keys': 10 }, {})).objects?.map((o) => o.name)).toEqual([
      key,
    ]);

    const bad = await rejectionOf(() =>
      oss.put('dir/bad.bin', body, { headers: { 'Content-MD5': '1B2M2Y8AsgTpgAmY7PhCfg==' } }),
    );
    expect(bad.code).toBe('BadDigest');

    const deleted = await oss.delete(key);
    expect(deleted.res.status).toBe(204);
    const gone = await rejectionOf(() => oss.get(key));
    expect(gone.code).toBe('NoSuchKey');
    const headGone = await rejectionOf(() => oss.head(key));
    expect(headGone.status).toBe(404);

    const nobucket = await rejectionOf(() => ossForAccount(emu, 'no-such-bucket').get('x'));
    expect(nobucket.code).toBe('NoSuchBucket');
  });

  it('EntityTooLarge for a body announced above 5 GiB, refused before it is read', async () => {
    const oss = ossForAccount(emu, 'mediaferry-local');
    const { Readable } = await import('node:stream');
    const err = await rejectionOf(() =>
      oss.putStream('big.bin', Readable.from([testData(10)]), {
        contentLength: 5 * 1024 ** 3 + 1,
      } as unknown as OSS.PutStreamOptions),
    );
    expect(err).toMatchObject({ status: 400, code: 'EntityTooLarge' });
  });

  it('path-style requests (localhost endpoint + sldEnable) reach the same buckets', async () => {
    const oss = ossForAccount(emu, 'mediaferry-local', {
      endpoint: `http://localhost:${emu.port}`,
      sldEnable: true,
    } as Partial<OSS.Options>);
    await oss.put('path/style.txt', Buffer.from('path style'));
    const viaVhost = await ossForAccount(emu, 'mediaferry-local').get('path/style.txt');
    expect(viaVhost.content.toString()).toBe('path style');
  });
});

describe('benchMode', () => {
  it('UploadPart: still completes and stores the right bytes, but part ETags are not MD5s', async () => {
    const fast = await startEmulator({ ossSignatures: 'v4-only', benchMode: true });
    try {
      const oss = ossForAccount(fast, 'mediaferry-local');
      const data = testData(250 * KiB, 4);
      const { uploadId } = await oss.initMultipartUpload('fast.bin');
      const part = await uploadPartBuffer(oss, 'fast.bin', uploadId, 1, data);
      const { createHash } = await import('node:crypto');
      expect(part.etag).toMatch(/^"[0-9A-F]{32}"$/);
      expect(part.etag).not.toBe(`"${createHash('md5').update(data).digest('hex').toUpperCase()}"`);
      await oss.completeMultipartUpload('fast.bin', uploadId, [{ number: 1, etag: part.etag }]);
      const got = await oss.get('fast.bin');
      expect(got.content.equals(data)).toBe(true);
      expect(header(got.res, 'x-oss-hash-crc64ecma')).toBe(crc64(data).toString());
    } finally {
      await fast.close();
    }
  });

  it('PutObject: no MD5 unless Content-MD5 is sent, CRC-64 always; the old skipPartMd5 name still works', async () => {
    const fast = await startEmulator({ ossSignatures: 'v4-only', skipPartMd5: true });
    try {
      const oss = ossForAccount(fast, 'mediaferry-local');
      const data = testData(300 * KiB, 5);
      const { createHash } = await import('node:crypto');
      const md5 = createHash('md5').update(data).digest();
      const { Readable } = await import('node:stream');
      // putStream sends no Content-MD5 (put of a Buffer always does).
      const put = await oss.putStream('put.bin', Readable.from([data]), {
        contentLength: data.length,
      } as OSS.PutStreamOptions);
      const etag = header(put.res, 'etag');
      expect(etag).toMatch(/^"[0-9A-F]{32}"$/);
      expect(etag).not.toBe(`"${md5.toString('hex').toUpperCase()}"`);
      expect(header(put.res, 'content-md5')).toBeUndefined();
      expect(header(put.res, 'x-oss-hash-crc64ecma')).toBe(crc64(data).toString());
      const got = await oss.get('put.bin');
      expect(got.content.equals(data)).toBe(true);

      // A client that asks for a digest check still gets one.
      const checked = await oss.put('checked.bin', data, {
        headers: { 'Content-MD5': md5.toString('base64') },
      });
      expect(header(checked.res, 'etag')).toBe(`"${md5.toString('hex').toUpperCase()}"`);
      const bad = await oss
        .put('bad.bin', data, { headers: { 'Content-MD5': createHash('md5').update('x').digest('base64') } })
        .catch((err: unknown) => err);
      expect(bad).toMatchObject({ status: 400, code: 'BadDigest' });
    } finally {
      await fast.close();
    }
  });
});
