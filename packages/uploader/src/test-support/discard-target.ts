import type {
  CompletedObject,
  PartBody,
  PrepareOptions,
  StorageTarget,
  UploadDestination,
  UploadedPart,
  UploadPartOptions,
} from '@mediaferry/core';
import { crc64 } from '@mediaferry/crc64';

/**
 * A storage target that receives every byte and keeps none (the "target that discards"): a 10 TiB
 * source can be sent for a while without storage to hold it. It consumes a part as a socket would, one
 * chunk after the other, and answers with the part's CRC-64 like OSS. Nothing is faked on the engine's
 * side: the engine, the memory budget and the file source are the real ones.
 */
export class DiscardTarget implements StorageTarget {
  /** Bytes received, over every part. */
  receivedBytes = 0;
  readonly parts: { partNumber: number; size: number }[] = [];
  /** Called with the total after every chunk. */
  onReceived: ((total: number) => void) | undefined;
  #uploads = 0;
  #open = 0;

  /** Part bodies being consumed right now. */
  get openBodies(): number {
    return this.#open;
  }

  async prepare(o: PrepareOptions): Promise<UploadDestination> {
    return { mediaId: null, mediaType: 'video', bucket: 'discard', objectKey: o.fileName, url: null };
  }

  async initMultipart(): Promise<string> {
    return `discard-${++this.#uploads}`;
  }

  async uploadPart(
    _uploadId: string,
    partNumber: number,
    body: Uint8Array | PartBody,
    options: UploadPartOptions = {},
  ): Promise<UploadedPart> {
    let crc = 0n;
    let size = 0;
    if (body instanceof Uint8Array) {
      crc = crc64(body);
      size = body.byteLength;
      this.#received(size);
    } else {
      this.#open++;
      const pass = body.open(options.signal);
      try {
        for (let chunk = await pass.next(); chunk !== null; chunk = await pass.next()) {
          crc = crc64(chunk, crc);
          size += chunk.length;
          this.#received(chunk.length);
          options.onBytesSent?.(size);
          options.signal?.throwIfAborted();
        }
      } finally {
        pass.close();
        this.#open--;
      }
    }
    this.parts.push({ partNumber, size });
    return { partNumber, etag: `"${crc.toString(16)}"`, size, crc64: crc.toString() };
  }

  async listParts(): Promise<UploadedPart[]> {
    return [];
  }

  async complete(): Promise<CompletedObject> {
    throw new Error('DiscardTarget keeps no object to complete');
  }

  async abort(): Promise<void> {}

  async head(): Promise<CompletedObject | null> {
    return null;
  }

  #received(n: number): void {
    this.receivedBytes += n;
    this.onReceived?.(this.receivedBytes);
  }
}
