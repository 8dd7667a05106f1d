import type { MediaType } from './job-spec.js';

/**
 * A `StorageTarget` is where an upload goes: an OSS multipart upload, either into a VOD media
 * (credentials obtained and refreshed through VOD) or into a plain OSS bucket. The engine drives it;
 * the target hides credentials, retries nothing itself and maps every failure to a typed error.
 */
export interface UploadDestination {
  /** VOD media id (VideoId / ImageId / MediaId); null for plain OSS. */
  mediaId: string | null;
  mediaType: MediaType;
  bucket: string;
  objectKey: string;
  /** Where the object can be fetched (VOD's FileURL / MediaURL), when known. */
  url: string | null;
}

export interface PrepareOptions {
  /** The destination from a checkpoint: reuse its media instead of creating a second one. */
  existing?: UploadDestination;
  /**
   * The engine's key for this upload (the job id): a target may tag what it creates with it, so a
   * create whose answer was lost can be found again (VOD video/audio: a derived `ReferenceId`).
   */
  uploadKey?: string;
  /**
   * Without `existing`: an earlier Create… for this upload may have reached the service (a lost
   * answer, a crash after the call): look the media up before creating one.
   */
  createAttempted?: boolean;
  fileName: string;
  contentType: string | null;
  /** Total size when known. */
  size: number | null;
  signal?: AbortSignal;
}

export interface UploadedPart {
  partNumber: number;
  /** ETag as the server returned it (quotes included). */
  etag: string;
  size: number;
  /** CRC-64/XZ of the part as an unsigned decimal string, when known. */
  crc64?: string;
}

/**
 * A part body that is not held in one buffer: read from the source in small chunks while the request
 * sends them, so the memory of a part in flight does not grow with the part size.
 */
export interface PartBody {
  readonly size: number;
  /** Starts a new pass over the part's bytes from its first byte: every attempt (a retry) reads them again. */
  open(signal?: AbortSignal): PartBodyPass;
}

export interface PartBodyPass {
  /**
   * The next chunk (a full chunk except the last), or null after `size` bytes. A chunk's memory is reused
   * by the second `next()` after it: a consumer may hold at most the previous chunk while asking for
   * the next (a stream piped into a socket, which pauses after each chunk until it was written, does).
   */
  next(): Promise<Uint8Array | null>;
  /** Ends the pass (early or not) and gives its chunk memory back. Safe to call twice. */
  close(): void;
}

export interface UploadPartOptions {
  signal?: AbortSignal;
  /** Called with cumulative bytes handed to the socket, for intra-part progress. */
  onBytesSent?: (sentBytes: number) => void;
}

export interface CompletedObject {
  etag: string;
  /** Whole-object CRC-64/XZ (`x-oss-hash-crc64ecma`), unsigned decimal. */
  crc64: string | null;
  size: number | null;
}

export interface StorageTarget {
  /** Creates (or, given `existing`, reattaches to) the destination and obtains credentials. */
  prepare(options: PrepareOptions): Promise<UploadDestination>;
  /** Starts a multipart upload for the prepared object key; returns its upload id. */
  initMultipart(signal?: AbortSignal): Promise<string>;
  uploadPart(
    uploadId: string,
    partNumber: number,
    /** The bytes in one buffer, or a `PartBody` streamed from the source (see there). */
    body: Uint8Array | PartBody,
    options?: UploadPartOptions,
  ): Promise<UploadedPart>;
  /** Parts the server holds for this upload (all pages). Throws NoSuchUploadError when the upload is gone. */
  listParts(uploadId: string, signal?: AbortSignal): Promise<UploadedPart[]>;
  complete(uploadId: string, parts: UploadedPart[], signal?: AbortSignal): Promise<CompletedObject>;
  abort(uploadId: string, signal?: AbortSignal): Promise<void>;
  /**
   * Uploads `body` as the whole object in one request (PutObject), for a source of at most one part:
   * no multipart upload exists at any moment, so an interrupted upload leaves nothing behind. Resolves
   * with the object's ETag and CRC-64. Targets without it get a one-part multipart upload.
   */
  putObject?(body: Uint8Array, options?: UploadPartOptions): Promise<CompletedObject>;
  /**
   * The open multipart uploads at the prepared object key (all pages), for finding one an earlier
   * attempt started but never recorded (killed between Initiate… and its checkpoint write). Targets
   * whose credential cannot list a bucket (VOD STS tokens are scoped to one object) lack it.
   */
  listUploads?(signal?: AbortSignal): Promise<{ uploadId: string; initiated: Date | null }[]>;
  /**
   * Credential refreshes this target made so far (VOD STS tokens; reported in `UploadResult`).
   * Absent for targets whose credentials never expire.
   */
  readonly credentialRefreshes?: number;
  /** The finished object's size and CRC-64, or null when it does not exist. */
  head(signal?: AbortSignal): Promise<CompletedObject | null>;
  /** Called after a successful complete (VOD marks the media uploaded; plain OSS does nothing). */
  finalize?(signal?: AbortSignal): Promise<void>;
  /**
   * Reattaches to `destination` (from a checkpoint) only to clean it up, i.e. abort its multipart
   * upload: never creates a media. Resolves false when that upload cannot be reached (a VOD image or
   * attached media without the credential of the session that started it). Targets without this
   * method are reattached with `prepare({ existing })`.
   */
  reattachForCleanup?(destination: UploadDestination, signal?: AbortSignal): Promise<boolean>;
  /**
   * Deletes what an upload created at `destination`: the VOD media with its file, whatever its state,
   * or the plain OSS object. On a cancel the engine calls it for a VOD media always, and for a plain OSS
   * object only once the object's CRC-64 shows it is this upload's (completed despite the cancel).
   */
  discard?(destination: UploadDestination, signal?: AbortSignal): Promise<void>;
  /**
   * Whether another run of the same upload finds `destination` again on its own (`prepare` with
   * `uploadKey` and `createAttempted`; VOD video/audio by ReferenceId). A run that lost the upload
   * before recording such a destination must leave it to the new owner (who may be using it) instead
   * of discarding it. Without this method: false.
   */
  isFindable?(destination: UploadDestination): boolean;
}
