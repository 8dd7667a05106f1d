import { Readable } from 'node:stream';
import OpenApiModule, { $OpenApiUtil, OpenApiUtil } from '@alicloud/openapi-core';
import * as $dara from '@darabonba/typescript';
import OSS from 'ali-oss';
import type { Emulator } from '../emulator.js';

// A CommonJS package: Node ESM's default import is `module.exports` (class at `.default`), while vitest
// applies `__esModule` interop and hands over the class itself.
const openApiExport = OpenApiModule as unknown as typeof OpenApiModule.default | typeof OpenApiModule;
const OpenApi: typeof OpenApiModule.default =
  typeof openApiExport === 'function' ? openApiExport : openApiExport.default;
export type VodClient = InstanceType<typeof OpenApi>;

export interface VodClientOptions {
  accessKeyId?: string;
  accessKeySecret?: string;
  securityToken?: string;
  /** 'v2' = RPC v1 HMAC-SHA1 `Signature` parameter; default ACS3-HMAC-SHA256. */
  signatureAlgorithm?: 'v2';
}

/** The real @alicloud/openapi-core client pointed at the emulator. */
export function vodClient(emu: Emulator, o: VodClientOptions = {}): VodClient {
  return new OpenApi(
    new $OpenApiUtil.Config({
      accessKeyId: o.accessKeyId ?? emu.accessKeyId,
      accessKeySecret: o.accessKeySecret ?? emu.accessKeySecret,
      ...(o.securityToken ? { securityToken: o.securityToken } : {}),
      ...(o.signatureAlgorithm ? { signatureAlgorithm: o.signatureAlgorithm } : {}),
      endpoint: emu.vodEndpoint,
      protocol: 'http',
    }),
  );
}

// biome-ignore lint/suspicious/noExplicitAny: VOD bodies are untyped JSON
export type VodBody = Record<string, any>;

/** Calls a VOD 2017-03-21 action exactly as the generated @alicloud/vod20170321 client does. */
export async function callVod(
  client: VodClient,
  action: string,
  query: Record<string, unknown> = {},
): Promise<VodBody> {
  const params = new $OpenApiUtil.Params({
    action,
    version: '2017-03-21',
    protocol: 'HTTPS',
    pathname: '/',
    method: 'POST',
    authType: 'AK',
    style: 'RPC',
    reqBodyType: 'formData',
    bodyType: 'json',
  });
  const request = new $OpenApiUtil.OpenApiRequest({ query: OpenApiUtil.query(query) });
  const res = await client.callApi(params, request, new $dara.RuntimeOptions({}));
  return res.body as VodBody;
}

export interface UploadTarget {
  mediaId: string;
  endpoint: string;
  bucket: string;
  key: string;
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string;
  region: string;
  expiration: string;
  expireUTCTime: string;
}

/** Decodes a Create… or Refresh… response's UploadAddress + UploadAuth. */
export function decodeUpload(body: VodBody): UploadTarget {
  const addr = JSON.parse(Buffer.from(body.UploadAddress, 'base64').toString('utf8'));
  const auth = JSON.parse(Buffer.from(body.UploadAuth, 'base64').toString('utf8'));
  return {
    mediaId: body.VideoId ?? body.ImageId ?? body.MediaId,
    endpoint: addr.Endpoint,
    bucket: addr.Bucket,
    key: addr.FileName,
    accessKeyId: auth.AccessKeyId,
    accessKeySecret: auth.AccessKeySecret,
    securityToken: auth.SecurityToken,
    region: auth.Region,
    expiration: auth.Expiration,
    expireUTCTime: auth.ExpireUTCTime,
  };
}

/**
 * ali-oss fed exactly as a VOD uploader feeds it from UploadAddress/UploadAuth, signing with V4 (what
 * buckets created today require); pass `{ authorizationV4: false }` for V1.
 */
export function ossForUpload(t: UploadTarget, extra: Partial<OSS.Options> = {}): OSS {
  return new OSS({
    endpoint: t.endpoint,
    bucket: t.bucket,
    accessKeyId: t.accessKeyId,
    accessKeySecret: t.accessKeySecret,
    stsToken: t.securityToken,
    region: `oss-${t.region}`,
    authorizationV4: true,
    // Without a refresher ali-oss prints a warning per client; tests refresh explicitly.
    refreshSTSToken: async () => ({
      accessKeyId: t.accessKeyId,
      accessKeySecret: t.accessKeySecret,
      stsToken: t.securityToken,
    }),
    refreshSTSTokenInterval: 3_600_000,
    ...extra,
  });
}

/** ali-oss with the account AccessKey pair (a bucket owner), V4-signed unless `extra` says otherwise. */
export function ossForAccount(emu: Emulator, bucket: string, extra: Partial<OSS.Options> = {}): OSS {
  return new OSS({
    endpoint: emu.ossEndpoint,
    bucket,
    accessKeyId: emu.accessKeyId,
    accessKeySecret: emu.accessKeySecret,
    region: `oss-${emu.region}`,
    authorizationV4: true,
    ...extra,
  });
}

/** Deterministic pseudo-random bytes (fast, no crypto needed for test data). */
export function testData(size: number, seed = 1): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
  return buf;
}

/** Creates a video media and returns its decoded upload target. */
export async function createVideo(
  emu: Emulator,
  query: Record<string, unknown> = {},
): Promise<UploadTarget & { body: VodBody }> {
  const body = await callVod(vodClient(emu), 'CreateUploadVideo', {
    Title: 'clip',
    FileName: 'clip.mp4',
    ...query,
  });
  return { ...decodeUpload(body), body };
}

/** ali-oss internals the tests use to send exactly the bytes they want, still signed by ali-oss. */
interface OssInternals {
  _objectRequestParams(
    method: string,
    name: string,
    options: Record<string, unknown>,
  ): Record<string, unknown>;
  _uploadPart(
    name: string,
    uploadId: string,
    partNo: number,
    data: { stream: Readable; size: number },
    options?: Record<string, unknown>,
  ): Promise<{ etag: string; res: { status: number; headers: Record<string, string> } }>;
  request(
    params: Record<string, unknown>,
  ): Promise<{ res: { status: number; headers: Record<string, string> }; data: unknown }>;
}

/** UploadPart of an in-memory buffer (streamed, as ali-oss streams parts). */
export async function uploadPartBuffer(
  oss: OSS,
  key: string,
  uploadId: string,
  partNo: number,
  data: Buffer,
) {
  return (oss as unknown as OssInternals)._uploadPart(key, uploadId, partNo, {
    stream: Readable.from([data]),
    size: data.length,
  });
}

/** CompleteMultipartUpload with a hand-written body (ali-oss would sort and dedupe the parts). */
export async function completeWithXml(oss: OSS, key: string, uploadId: string, xml: string) {
  const internals = oss as unknown as OssInternals;
  const params = internals._objectRequestParams('POST', key, { subres: { uploadId } });
  params.mime = 'xml';
  params.content = xml;
  params.xmlResponse = true;
  params.successStatuses = [200];
  return internals.request(params);
}

/** `<CompleteMultipartUpload>` listing parts in the given order. */
export function completeXml(parts: { number: number; etag: string }[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUpload>\n${parts
    .map((p) => `<Part>\n<PartNumber>${p.number}</PartNumber>\n<ETag>${p.etag}</ETag>\n</Part>\n`)
    .join('')}</CompleteMultipartUpload>`;
}

/** Runs `fn`, expecting it to throw; returns the error (fails the test if it resolves). */
export async function rejectionOf(fn: () => Promise<unknown>): Promise<LooseResult> {
  try {
    await fn();
  } catch (err) {
    return err as LooseResult;
  }
  throw new Error('expected a rejection, but the call succeeded');
}

// biome-ignore lint/suspicious/noExplicitAny: @types/ali-oss misdescribes listParts (strings, object-or-array)
export type LooseResult = Record<string, any>;

/** `oss.listParts` as ali-oss really returns it (XML text values; one part → an object, not an array). */
export function listParts(oss: OSS, key: string, uploadId: string, query: Record<string, string> = {}) {
  return (oss as unknown as { listParts(k: string, u: string, q: object): Promise<LooseResult> }).listParts(
    key,
    uploadId,
    query,
  );
}
