import type { StsCredential } from '../sts/credential-store.js';
import { isoSeconds } from '../util/time.js';

/**
 * `UploadAddress`: base64 of compact JSON with VOD's key order. `Endpoint` is the emulator's IP URL, so
 * ali-oss sends the `<bucket>.oss-<region>.aliyuncs.com` Host override the OSS side routes by.
 */
export function encodeUploadAddress(endpoint: string, bucket: string, key: string): string {
  return Buffer.from(JSON.stringify({ Endpoint: endpoint, Bucket: bucket, FileName: key }), 'utf8').toString(
    'base64',
  );
}

/** `UploadAuth`: base64 of the STS triple; `Expiration` is a string of seconds, as VOD sends it. */
export function encodeUploadAuth(credential: StsCredential, ttlSeconds: number, region: string): string {
  const json = JSON.stringify({
    SecurityToken: credential.securityToken,
    AccessKeyId: credential.accessKeyId,
    ExpireUTCTime: isoSeconds(new Date(credential.expiresAt)),
    AccessKeySecret: credential.accessKeySecret,
    Expiration: String(Math.round(ttlSeconds)),
    Region: region,
  });
  return Buffer.from(json, 'utf8').toString('base64');
}
