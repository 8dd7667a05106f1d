import type {
  CompletedObject,
  MediaType,
  PartBody,
  PrepareOptions,
  StorageTarget,
  UploadDestination,
  UploadedPart,
  UploadPartOptions,
} from '@mediaferry/core';
import { throwIfAborted, ValidationError } from '@mediaferry/core';
import { createAccountOssClient, type OssAccount, type OssClientOptions } from './oss-client.js';
import { type OssClientProvider, OssMultipartObject, type OssMultipartOptions } from './oss-multipart.js';

export interface OssStorageTargetOptions extends OssMultipartOptions {
  account: OssAccount;
  bucket: string;
  key: string;
  /** Reported in the destination. @defaultValue `video` */
  mediaType?: MediaType;
  client?: OssClientOptions;
}

/**
 * A multipart upload into a plain OSS bucket and key, signed with the account AccessKey. Nothing
 * expires, so no refresh; `prepare()` only records the content type and describes the destination.
 */
export class OssStorageTarget implements StorageTarget {
  readonly #object: OssMultipartObject;
  readonly #destination: UploadDestination;

  constructor(options: OssStorageTargetOptions) {
    const handle = createAccountOssClient({ ...options.account, bucket: options.bucket }, options.client);
    const lease = { handle, generation: 1 };
    const provider: OssClientProvider = { acquire: async () => lease };
    this.#object = new OssMultipartObject(provider, options.key, options);
    this.#destination = {
      mediaId: null,
      mediaType: options.mediaType ?? 'video',
      bucket: options.bucket,
      objectKey: options.key,
      url: null,
    };
  }

  async prepare(options: PrepareOptions): Promise<UploadDestination> {
    throwIfAborted(options.signal);
    this.#object.contentType = options.contentType;
    return { ...this.#destination };
  }

  initMultipart(signal?: AbortSignal): Promise<string> {
    return this.#object.initMultipart(signal);
  }

  uploadPart(
    uploadId: string,
    partNumber: number,
    body: Uint8Array | PartBody,
    options?: UploadPartOptions,
  ): Promise<UploadedPart> {
    return this.#object.uploadPart(uploadId, partNumber, body, options);
  }

  listParts(uploadId: string, signal?: AbortSignal): Promise<UploadedPart[]> {
    return this.#object.listParts(uploadId, signal);
  }

  complete(uploadId: string, parts: UploadedPart[], signal?: AbortSignal): Promise<CompletedObject> {
    return this.#object.complete(uploadId, parts, signal);
  }

  abort(uploadId: string, signal?: AbortSignal): Promise<void> {
    return this.#object.abort(uploadId, signal);
  }

  head(signal?: AbortSignal): Promise<CompletedObject | null> {
    return this.#object.head(signal);
  }

  putObject(body: Uint8Array, options?: UploadPartOptions): Promise<CompletedObject> {
    return this.#object.putObject(body, options);
  }

  /** The account key may list the bucket: uploads at this key (see `StorageTarget.listUploads`). */
  listUploads(signal?: AbortSignal): Promise<{ uploadId: string; initiated: Date | null }[]> {
    return this.#object.listUploads(signal);
  }

  async finalize(): Promise<void> {}

  /** Nothing to reattach: the account key reaches any upload of the bucket. */
  async reattachForCleanup(destination: UploadDestination, signal?: AbortSignal): Promise<boolean> {
    throwIfAborted(signal);
    return (
      destination.bucket === this.#destination.bucket && destination.objectKey === this.#destination.objectKey
    );
  }

  /** Deletes the object at the key (the engine calls it only for an object it verified as its own). */
  async discard(destination: UploadDestination, signal?: AbortSignal): Promise<void> {
    if (
      destination.bucket !== this.#destination.bucket ||
      destination.objectKey !== this.#destination.objectKey
    )
      throw new ValidationError(
        `OSS target ${this.#destination.objectKey} cannot delete ${destination.objectKey}`,
      );
    await this.#object.deleteObject(signal);
  }
}
