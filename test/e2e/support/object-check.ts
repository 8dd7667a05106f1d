import type { Readable } from 'node:stream';
import OSS from 'ali-oss';
import { type Digest, digestStream } from './media-files.js';

/** The account AccessKey and where the emulator's OSS side listens. */
export interface OssAccount {
  /** `http://127.0.0.1:PORT` (an IP endpoint: ali-oss then sends the `<bucket>.<region>` Host). */
  endpoint: string;
  region: string;
  accessKeyId: string;
  accessKeySecret: string;
}

/** What an object read back looks like: its digest and what OSS says about it. */
export interface StoredObject extends Digest {
  /** `x-oss-hash-crc64ecma` as the server sent it. */
  serverCrc64: string | undefined;
  contentType: string | undefined;
}

/** A plain ali-oss client signed with the account AccessKey (reads VOD and plain buckets alike). */
export function accountOss(account: OssAccount, bucket: string): OSS {
  return new OSS({
    endpoint: account.endpoint,
    bucket,
    region: account.region.startsWith('oss-') ? account.region : `oss-${account.region}`,
    accessKeyId: account.accessKeyId,
    accessKeySecret: account.accessKeySecret,
    // The emulator runs v4-only in the e2e suite, like a bucket created today.
    authorizationV4: true,
    timeout: 120_000,
  });
}

/** Streams `bucket/key` back with ali-oss and digests it (MD5 + CRC-64) without holding it in memory. */
export async function readObject(account: OssAccount, bucket: string, key: string): Promise<StoredObject> {
  const res = await accountOss(account, bucket).getStream(key);
  const digest = await digestStream(res.stream as Readable);
  const headers = (res.res as unknown as { headers: Record<string, string | undefined> }).headers;
  return { ...digest, serverCrc64: headers['x-oss-hash-crc64ecma'], contentType: headers['content-type'] };
}

/** ali-oss ListMultipartUploads on `bucket` (as a client would see it), only entries of `key`. */
export async function listOpenUploads(account: OssAccount, bucket: string, key: string): Promise<string[]> {
  const client = accountOss(account, bucket);
  const res = (await client.listUploads({ prefix: key, 'max-uploads': 1000 } as never)) as unknown as {
    uploads?: { name: string; uploadId: string }[];
  };
  return (res.uploads ?? []).filter((u) => u.name === key).map((u) => u.uploadId);
}

/** ali-oss ListMultipartUploads on the whole of `bucket`: every open upload as `key uploadId`. */
export async function listAllOpenUploads(account: OssAccount, bucket: string): Promise<string[]> {
  const client = accountOss(account, bucket);
  const res = (await client.listUploads({ 'max-uploads': 1000 } as never)) as unknown as {
    uploads?: { name: string; uploadId: string }[];
  };
  return (res.uploads ?? []).map((u) => `${u.name} ${u.uploadId}`);
}
