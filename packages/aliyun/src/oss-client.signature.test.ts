import { type Emulator, startEmulator } from '@mediaferry/emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountOssClient, createStsOssClient } from './oss-client.js';
import { VodClient } from './vod-client.js';

/**
 * Every OSS request mediaferry makes signs with V4 unless configured otherwise: checked against an
 * emulator that, like a bucket created since 2025-09-01, refuses V1.
 */
describe('OSS signature version of the product clients', () => {
  let v4Only: Emulator;
  let legacy: Emulator;
  beforeAll(async () => {
    // A region other than the VOD client's, so only UploadAuth's Region can make the V4 scope right.
    v4Only = await startEmulator({ ossSignatures: 'v4-only', region: 'cn-beijing' });
    legacy = await startEmulator({ ossSignatures: 'v1-and-v4' });
  });
  afterAll(async () => {
    await Promise.all([v4Only?.close(), legacy?.close()]);
  });

  const account = (emu: Emulator) => ({
    endpoint: emu.ossEndpoint,
    region: emu.region,
    accessKeyId: emu.accessKeyId,
    accessKeySecret: emu.accessKeySecret,
    bucket: 'mediaferry-local',
  });

  it('signs with V4 by default (account AccessKey)', async () => {
    const handle = createAccountOssClient(account(v4Only));
    expect(handle.signatureVersion).toBe('v4');
    const { uploadId } = await handle.client.initMultipartUpload('v4/a.mp4', handle.requestOptions({}));
    await handle.client.abortMultipartUpload('v4/a.mp4', uploadId, handle.requestOptions({}));
    const log = await v4Only.admin.requests({ operation: 'InitiateMultipartUpload' });
    expect(log.at(-1)).toMatchObject({ status: 200, accessKeyId: v4Only.accessKeyId });
  });

  it('signs VOD STS uploads with V4 in the region UploadAuth names', async () => {
    const vod = new VodClient({
      endpoint: v4Only.vodEndpoint,
      regionId: 'cn-shanghai',
      accessKeyId: v4Only.accessKeyId,
      accessKeySecret: v4Only.accessKeySecret,
    });
    const ticket = await vod.createUploadVideo({ title: 'v4', fileName: 'v4.mp4' });
    expect(ticket.credentials.region).toBe('cn-beijing');
    const handle = createStsOssClient(ticket.address, ticket.credentials);
    expect(handle.signatureVersion).toBe('v4');
    const key = ticket.address.objectKey;
    const { uploadId } = await handle.client.initMultipartUpload(key, handle.requestOptions({}));
    const parts = await handle.client.listParts(key, uploadId, {}, handle.requestOptions({}));
    expect(parts.res.status).toBe(200);
  });

  it('OSS_SIGNATURE_VERSION=v1 signs with V1: refused by a V4-only bucket, accepted by an old one', async () => {
    const onNew = createAccountOssClient(account(v4Only), { signatureVersion: 'v1' });
    const refused = await onNew.client.initMultipartUpload('v1/a.mp4', onNew.requestOptions({})).then(
      () => undefined,
      (err: { status?: number; code?: string }) => err,
    );
    expect(refused).toMatchObject({ status: 403, code: 'AccessDenied' });
    const onOld = createAccountOssClient(account(legacy), { signatureVersion: 'v1' });
    expect(onOld.signatureVersion).toBe('v1');
    const { uploadId } = await onOld.client.initMultipartUpload('v1/a.mp4', onOld.requestOptions({}));
    expect(uploadId).toMatch(/^[0-9A-F]{32}$/);
  });

  it('refuses an unknown signature version as a configuration error', () => {
    expect(() =>
      createAccountOssClient(account(legacy), { signatureVersion: 'v2' as unknown as 'v4' }),
    ).toThrow(/signatureVersion/);
  });
});
