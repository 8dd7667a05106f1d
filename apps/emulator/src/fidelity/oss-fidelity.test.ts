import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../emulator.js';
import {
  completeWithXml,
  completeXml,
  listParts,
  ossForAccount,
  testData,
  uploadPartBuffer,
} from '../test-support/clients.js';

/**
 * Fidelity: the XML the emulator answers, element by element, against the OSS API reference
 * (InitiateMultipartUpload, UploadPart, CompleteMultipartUpload, ListParts, ListMultipartUploads,
 * ListObjects, error bodies), requests sent by the real ali-oss signing with V4. Each listed element
 * set is the documented one; the emulator may leave optional ones out but never adds another.
 */

const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false });

/** Root element and its parsed content of an XML body. */
function parse(xml: Buffer | string): [string, Record<string, unknown>] {
  const doc = parser.parse(xml.toString()) as Record<string, unknown>;
  const root = Object.keys(doc).find((k) => k !== '?xml')!;
  return [root, doc[root] as Record<string, unknown>];
}

function expectElements(
  node: unknown,
  documented: readonly string[],
  required: readonly string[],
  where: string,
): void {
  const names = Object.keys(node as Record<string, unknown>);
  for (const n of names) expect(documented, `${where}: undocumented <${n}>`).toContain(n);
  for (const n of required) expect(names, `${where}: missing <${n}>`).toContain(n);
}

/** The raw body ali-oss keeps next to what it parsed. */
const raw = (result: unknown): Buffer => (result as { res: { data: Buffer } }).res.data;

const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/;

describe('OSS answers match the documented XML', () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startEmulator({ ossSignatures: 'v4-only' });
  });
  afterAll(async () => {
    await emu?.close();
  });

  it('multipart: Initiate, UploadPart headers, ListParts, ListMultipartUploads, Complete', async () => {
    const oss = ossForAccount(emu, 'mediaferry-local');
    const key = 'fid/video.mp4';
    const init = await oss.initMultipartUpload(key);
    const [initRoot, initBody] = parse(raw(init));
    expect(initRoot).toBe('InitiateMultipartUploadResult');
    expectElements(
      initBody,
      ['Bucket', 'Key', 'UploadId', 'EncodingType'],
      ['Bucket', 'Key', 'UploadId'],
      initRoot,
    );
    expect(init.uploadId).toMatch(/^[0-9A-F]{32}$/);

    const part = await uploadPartBuffer(oss, key, init.uploadId, 1, testData(200 * 1024));
    expect(part.res.headers.etag).toMatch(/^"[0-9A-F]{32}"$/);
    expect(part.res.headers['x-oss-hash-crc64ecma']).toMatch(/^\d+$/);
    expect(part.res.headers['x-oss-request-id']).toMatch(/^[0-9A-F]{24}$/);
    await uploadPartBuffer(oss, key, init.uploadId, 2, testData(10, 2));

    const parts = await listParts(oss, key, init.uploadId, { 'max-parts': '1' });
    const [partsRoot, partsBody] = parse(raw(parts));
    expect(partsRoot).toBe('ListPartsResult');
    const listPartsElements = [
      'Bucket',
      'Key',
      'UploadId',
      'StorageClass',
      'PartNumberMarker',
      'NextPartNumberMarker',
      'MaxParts',
      'IsTruncated',
      'EncodingType',
      'Part',
    ];
    expectElements(
      partsBody,
      listPartsElements,
      ['Bucket', 'Key', 'UploadId', 'IsTruncated', 'Part'],
      partsRoot,
    );
    expect(partsBody.IsTruncated).toBe('true');
    const onePart = partsBody.Part as Record<string, string>;
    expectElements(
      onePart,
      ['PartNumber', 'LastModified', 'ETag', 'HashCrc64ecma', 'Size'],
      ['PartNumber', 'ETag', 'Size'],
      'Part',
    );
    expect(onePart.LastModified).toMatch(ISO_MS);

    const uploads = await oss.listUploads({ prefix: 'fid/' });
    const [upRoot, upBody] = parse(raw(uploads));
    expect(upRoot).toBe('ListMultipartUploadsResult');
    expectElements(
      upBody,
      [
        'Bucket',
        'KeyMarker',
        'UploadIdMarker',
        'NextKeyMarker',
        'NextUploadIdMarker',
        'Delimiter',
        'Prefix',
        'MaxUploads',
        'IsTruncated',
        'EncodingType',
        'Upload',
        'CommonPrefixes',
      ],
      ['Bucket', 'IsTruncated', 'Upload'],
      upRoot,
    );
    const upload = upBody.Upload as Record<string, string>;
    expectElements(
      upload,
      ['Key', 'UploadId', 'Initiated', 'StorageClass'],
      ['Key', 'UploadId', 'Initiated'],
      'Upload',
    );
    expect(upload.Initiated).toMatch(ISO_MS);

    const etags = [part.etag, (await listParts(oss, key, init.uploadId)).parts[1].ETag];
    const done = await completeWithXml(
      oss,
      key,
      init.uploadId,
      completeXml(etags.map((etag, i) => ({ number: i + 1, etag }))),
    );
    const [doneRoot, doneBody] = parse(raw(done));
    expect(doneRoot).toBe('CompleteMultipartUploadResult');
    expectElements(
      doneBody,
      ['Location', 'Bucket', 'Key', 'ETag', 'EncodingType'],
      ['Bucket', 'Key', 'ETag'],
      doneRoot,
    );
    expect(done.res.headers.etag).toBeDefined();
  });

  it('ListObjects and error bodies', async () => {
    const oss = ossForAccount(emu, 'mediaferry-local');
    await oss.put('fid-list/a.txt', Buffer.from('a'));
    const listed = await oss.list({ prefix: 'fid-list/', 'max-keys': 10 }, {});
    const [root, body] = parse(raw(listed));
    expect(root).toBe('ListBucketResult');
    expectElements(
      body,
      [
        'Name',
        'Prefix',
        'Marker',
        'MaxKeys',
        'Delimiter',
        'IsTruncated',
        'NextMarker',
        'EncodingType',
        'Contents',
        'CommonPrefixes',
      ],
      ['Name', 'IsTruncated', 'Contents'],
      root,
    );
    const contents = body.Contents as Record<string, unknown>;
    expectElements(
      contents,
      ['Key', 'LastModified', 'ETag', 'Type', 'Size', 'StorageClass', 'Owner', 'RestoreInfo'],
      ['Key', 'LastModified', 'ETag', 'Size'],
      'Contents',
    );
    expect(contents.LastModified).toMatch(ISO_MS);

    const res = await fetch(`${emu.url}/fid-list/none.txt`, {
      headers: { host: `mediaferry-local.oss-${emu.region}.aliyuncs.com` },
    });
    const [errRoot, errBody] = parse(await res.text());
    expect(errRoot).toBe('Error');
    expectElements(
      errBody,
      ['Code', 'Message', 'RequestId', 'HostId', 'EC', 'RecommendDoc', 'Key', 'BucketName'],
      ['Code', 'Message', 'RequestId', 'HostId'],
      'Error',
    );
  });
});
