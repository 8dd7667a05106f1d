import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createBodyStream, createStsOssClient, type VodClient } from '@mediaferry/aliyun';

export interface BareUploadResult {
  mediaId: string;
  size: number;
  /** `x-oss-hash-crc64ecma` of CompleteMultipartUpload (decimal), when the server sent one. */
  crc64: string | null;
}

function header(res: { headers: Record<string, unknown> }, name: string): string | null {
  const v = res.headers[name];
  return typeof v === 'string' ? v : null;
}

/**
 * The calls the upload engine makes for a one-part image, made directly with the same clients and
 * nothing else (no queue, no record, no checkpoint, no retry): CreateUploadImage, then with the STS
 * credential it returns InitiateMultipartUpload, UploadPart (the whole file as part 1, streamed as
 * the engine streams it) and CompleteMultipartUpload.
 */
export async function bareImageUpload(
  vod: VodClient,
  file: string,
  title: string,
): Promise<BareUploadResult> {
  const ticket = await vod.createUploadImage({
    imageType: 'default',
    originalFileName: path.basename(file),
    title,
    imageExt: path.extname(file).slice(1),
  });
  const oss = createStsOssClient(ticket.address, ticket.credentials);
  const key = ticket.address.objectKey;
  const opts = oss.requestOptions({});
  const body = await readFile(file);
  const { uploadId } = await oss.client.initMultipartUpload(key, opts);
  const part = await oss.client._uploadPart(
    key,
    uploadId,
    1,
    { stream: createBodyStream(body), size: body.byteLength },
    opts,
  );
  const done = await oss.client.completeMultipartUpload(
    key,
    uploadId,
    [{ number: 1, etag: part.etag }],
    opts,
  );
  return { mediaId: ticket.mediaId, size: body.byteLength, crc64: header(done.res, 'x-oss-hash-crc64ecma') };
}
