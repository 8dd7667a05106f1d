import {
  AbortError,
  type CompletedObject,
  CredentialsExpiredError,
  MediaferryError,
  type PartBody,
  StorageError,
  throwIfAborted,
  type UploadedPart,
  type UploadPartOptions,
  ValidationError,
} from '@mediaferry/core';
import { createBodyStream, createPassStream, DEFAULT_BODY_CHUNK_BYTES } from './body-stream.js';
import type {
  OssClientHandle,
  OssRawPart,
  OssRequestContext,
  OssRequestOptions,
  OssResponseInfo,
} from './oss-client.js';
import { mapOssError } from './oss-errors.js';

/**
 * The multipart operations on one object key, shared by the plain-OSS and the VOD targets. A client
 * comes from an `OssClientProvider`; when an operation fails because the STS credential expired, the
 * provider is asked once for a newer client (single-flight on its side) and the operation is repeated
 * immediately. Everything else is thrown, typed, for the engine to retry.
 */

export interface OssClientLease {
  handle: OssClientHandle;
  generation: number;
}

export interface OssClientProvider {
  /** The client for the next operation (refreshed ahead of expiry where possible). */
  acquire(signal?: AbortSignal): Promise<OssClientLease>;
  /**
   * A client newer than `generation`, after a credential failure with it. Absent (or throwing) when
   * credentials cannot be renewed; the original error is then thrown.
   */
  renew?(generation: number, signal?: AbortSignal): Promise<OssClientLease>;
}

export interface OssMultipartOptions {
  /**
   * Parts per ListParts page (OSS allows 1..1000).
   * @defaultValue 1000
   */
  listPartsPageSize?: number;
  /**
   * Slice size of the part body handed to the socket, which is also the progress granularity.
   * @defaultValue 1048576 (1 MiB)
   */
  bodyChunkBytes?: number;
}

export const MAX_PART_NUMBER = 10_000;

function header(res: OssResponseInfo | undefined, name: string): string | null {
  const value = res?.headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' && first.length > 0 ? first : null;
}

function toUploadedPart(raw: OssRawPart): UploadedPart {
  const part: UploadedPart = { partNumber: Number(raw.PartNumber), etag: raw.ETag, size: Number(raw.Size) };
  if (raw.HashCrc64ecma) part.crc64 = raw.HashCrc64ecma;
  return part;
}

export class OssMultipartObject {
  readonly objectKey: string;
  readonly #provider: OssClientProvider;
  readonly #pageSize: number;
  readonly #chunkBytes: number;
  /** MIME type sent on InitiateMultipartUpload (else ali-oss guesses from the key's extension). */
  contentType: string | null = null;

  constructor(provider: OssClientProvider, objectKey: string, options: OssMultipartOptions = {}) {
    this.#provider = provider;
    this.objectKey = objectKey;
    this.#pageSize = Math.min(1000, Math.max(1, options.listPartsPageSize ?? 1000));
    this.#chunkBytes = options.bodyChunkBytes ?? DEFAULT_BODY_CHUNK_BYTES;
  }

  async initMultipart(signal?: AbortSignal): Promise<string> {
    const result = await this.#run('InitiateMultipartUpload', signal, (h, opts) =>
      h.client.initMultipartUpload(this.objectKey, {
        ...opts,
        ...(this.contentType?.includes('/') ? { mime: this.contentType } : {}),
      }),
    );
    if (!result.uploadId)
      throw new StorageError('OSS InitiateMultipartUpload returned no UploadId', { status: 502 });
    return result.uploadId;
  }

  async uploadPart(
    uploadId: string,
    partNumber: number,
    body: Uint8Array | PartBody,
    options: UploadPartOptions = {},
  ): Promise<UploadedPart> {
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
      throw new ValidationError(`Part number ${partNumber} is outside 1..${MAX_PART_NUMBER}`);
    }
    const size = body instanceof Uint8Array ? body.byteLength : body.size;
    // Progress stays monotonic even when the part is sent again after a credential refresh.
    let reported = 0;
    const onBytesSent = options.onBytesSent
      ? (sent: number) => {
          if (sent > reported) {
            reported = sent;
            options.onBytesSent?.(sent);
          }
        }
      : undefined;
    // A streamed body is read again for every request (the credential retry too); a failure reading
    // it (the source changed) is what the attempt throws, not the request error it caused.
    let bodyError: unknown;
    const stream = () => {
      if (body instanceof Uint8Array) return createBodyStream(body, onBytesSent, this.#chunkBytes);
      const s = createPassStream(body.open(options.signal), size, onBytesSent);
      s.once('error', (err) => {
        bodyError ??= err;
      });
      return s;
    };
    const result = await this.#run(
      'UploadPart',
      options.signal,
      async (h, opts) => {
        bodyError = undefined;
        try {
          return await h.client._uploadPart(
            this.objectKey,
            uploadId,
            partNumber,
            { stream: stream(), size },
            opts,
          );
        } catch (err) {
          if (bodyError instanceof MediaferryError) throw bodyError;
          throw err;
        }
      },
      size,
    );
    const part: UploadedPart = { partNumber, etag: result.etag, size };
    const crc64 = header(result.res, 'x-oss-hash-crc64ecma');
    if (crc64) part.crc64 = crc64;
    return part;
  }

  /**
   * The whole object in one PutObject (a source of at most one part): no multipart upload exists at
   * any moment, so an interrupted upload leaves nothing behind. Sends `contentType` like Initiate….
   */
  async putObject(body: Uint8Array, options: UploadPartOptions = {}): Promise<CompletedObject> {
    let reported = 0;
    const onBytesSent = options.onBytesSent
      ? (sent: number) => {
          if (sent > reported) {
            reported = sent;
            options.onBytesSent?.(sent);
          }
        }
      : undefined;
    const result = await this.#run(
      'PutObject',
      options.signal,
      (h, opts) =>
        h.client.putStream(this.objectKey, createBodyStream(body, onBytesSent, this.#chunkBytes), {
          ...opts,
          contentLength: body.byteLength,
          ...(this.contentType?.includes('/') ? { mime: this.contentType } : {}),
        }),
      body.byteLength,
    );
    return {
      etag: header(result.res, 'etag') ?? '',
      crc64: header(result.res, 'x-oss-hash-crc64ecma'),
      size: body.byteLength,
    };
  }

  /** The open multipart uploads at this object's key, across pages (ListMultipartUploads). */
  async listUploads(signal?: AbortSignal): Promise<{ uploadId: string; initiated: Date | null }[]> {
    const found: { uploadId: string; initiated: Date | null }[] = [];
    let keyMarker: string | undefined;
    let idMarker: string | undefined;
    for (let page = 0; page < 1000; page++) {
      const query: Record<string, string | number> = { prefix: this.objectKey, 'max-uploads': 1000 };
      if (keyMarker !== undefined) query['key-marker'] = keyMarker;
      if (idMarker !== undefined) query['upload-id-marker'] = idMarker;
      const result = await this.#run('ListMultipartUploads', signal, (h, opts) =>
        h.client.listUploads(query, opts),
      );
      for (const u of result.uploads ?? []) {
        if (u.name !== this.objectKey) continue;
        const at = u.initiated ? new Date(u.initiated) : null;
        found.push({ uploadId: u.uploadId, initiated: at && !Number.isNaN(at.getTime()) ? at : null });
      }
      const truncated = result.isTruncated === true || result.isTruncated === 'true';
      if (!truncated || (result.nextKeyMarker === keyMarker && result.nextUploadIdMarker === idMarker))
        return found;
      keyMarker = result.nextKeyMarker;
      idMarker = result.nextUploadIdMarker;
    }
    return found;
  }

  /** All parts of the upload, following `NextPartNumberMarker` across pages. */
  async listParts(uploadId: string, signal?: AbortSignal): Promise<UploadedPart[]> {
    const parts: UploadedPart[] = [];
    let marker: string | undefined;
    for (let page = 0; page <= MAX_PART_NUMBER; page++) {
      const query: Record<string, string | number> = { 'max-parts': this.#pageSize };
      if (marker !== undefined) query['part-number-marker'] = marker;
      const result = await this.#run('ListParts', signal, (h, opts) =>
        h.client.listParts(this.objectKey, uploadId, query, opts),
      );
      const raw =
        result.parts === undefined ? [] : Array.isArray(result.parts) ? result.parts : [result.parts];
      parts.push(...raw.map(toUploadedPart));
      const truncated = result.isTruncated === true || result.isTruncated === 'true';
      if (!truncated) return parts;
      if (!result.nextPartNumberMarker || result.nextPartNumberMarker === marker) {
        throw new StorageError('OSS ListParts is truncated but gives no new NextPartNumberMarker', {
          status: 502,
        });
      }
      marker = result.nextPartNumberMarker;
    }
    throw new StorageError('OSS ListParts did not end', { status: 502 });
  }

  /**
   * Completes the upload with `parts` (sorted, deduplicated by number). The CRC-64 comes from
   * Complete's `x-oss-hash-crc64ecma` header, else from a HEAD (which also gives the size).
   */
  async complete(uploadId: string, parts: UploadedPart[], signal?: AbortSignal): Promise<CompletedObject> {
    if (parts.length === 0) throw new ValidationError('CompleteMultipartUpload needs at least one part');
    const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
    const result = await this.#run('CompleteMultipartUpload', signal, (h, opts) =>
      h.client.completeMultipartUpload(
        this.objectKey,
        uploadId,
        sorted.map((p) => ({ number: p.partNumber, etag: p.etag })),
        opts,
      ),
    );
    const crc64 = header(result.res, 'x-oss-hash-crc64ecma');
    const etag = result.etag ?? header(result.res, 'etag') ?? '';
    if (crc64) {
      const unique = new Map(sorted.map((p) => [p.partNumber, p.size]));
      return { etag, crc64, size: [...unique.values()].reduce((a, b) => a + b, 0) };
    }
    const headed = await this.head(signal);
    return { etag: etag || (headed?.etag ?? ''), crc64: headed?.crc64 ?? null, size: headed?.size ?? null };
  }

  /** Aborts the upload; an upload that is already gone counts as aborted. */
  async abort(uploadId: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.#run('AbortMultipartUpload', signal, (h, opts) =>
        h.client.abortMultipartUpload(this.objectKey, uploadId, opts),
      );
    } catch (err) {
      if ((err as { code?: unknown }).code === 'NO_SUCH_UPLOAD') return;
      throw err;
    }
  }

  /** Deletes the object; one that does not exist counts as deleted (OSS answers 204 either way). */
  async deleteObject(signal?: AbortSignal): Promise<void> {
    try {
      await this.#run('DeleteObject', signal, (h, opts) => h.client.delete(this.objectKey, opts));
    } catch (err) {
      if (err instanceof StorageError && err.status === 404) return;
      throw err;
    }
  }

  /** The object's ETag, size and CRC-64, or null when it does not exist. */
  async head(signal?: AbortSignal): Promise<CompletedObject | null> {
    try {
      const result = await this.#run('HeadObject', signal, (h, opts) => h.client.head(this.objectKey, opts));
      const length = header(result.res, 'content-length');
      return {
        etag: header(result.res, 'etag') ?? '',
        crc64: header(result.res, 'x-oss-hash-crc64ecma'),
        size: length === null ? null : Number(length),
      };
    } catch (err) {
      if (err instanceof StorageError && err.status === 404) return null;
      throw err;
    }
  }

  async #run<R>(
    operation: string,
    signal: AbortSignal | undefined,
    fn: (handle: OssClientHandle, options: OssRequestOptions) => Promise<R>,
    bodyBytes?: number,
  ): Promise<R> {
    throwIfAborted(signal);
    let lease = await this.#provider.acquire(signal);
    for (let attempt = 0; ; attempt++) {
      const ctx: OssRequestContext = {
        ...(signal ? { signal } : {}),
        ...(bodyBytes ? { bodyBytes } : {}),
      };
      try {
        return await fn(lease.handle, lease.handle.requestOptions(ctx));
      } catch (err) {
        // ali-oss rewraps whatever the transport threw, so the signal is the reliable witness.
        if (signal?.aborted) throw new AbortError(`OSS ${operation} was aborted`, { cause: signal.reason });
        const mapped = mapOssError(err, {
          operation,
          sts: lease.handle.sts,
          responseHeaders: ctx.responseHeaders,
        });
        if (!(mapped instanceof CredentialsExpiredError) || attempt > 0 || !this.#provider.renew)
          throw mapped;
        // The one retry the target does itself: same operation, fresh credential, right away.
        lease = await this.#provider.renew(lease.generation, signal);
      }
    }
  }
}
