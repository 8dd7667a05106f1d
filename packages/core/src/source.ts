/**
 * A `Source` is where an upload's bytes come from (a local file, a URL). The engine pulls from it with
 * `read()` into buffers it owns, so a file is read straight into the part buffer with no extra copy and
 * backpressure reaches the source by construction.
 */
export interface SourceStat {
  /** Size in bytes, or null when unknown (a URL without Content-Length). */
  size: number | null;
  /**
   * Opaque identity of the content: (size, mtime, inode) for a file, a strong ETag or
   * Last-Modified + size for a URL. A different fingerprint on resume means SOURCE_CHANGED.
   */
  fingerprint: string;
  /** Best file name with an extension (VOD requires one), e.g. `clip.mp4`. */
  fileName: string;
  /** MIME type when known or inferable from the name. */
  contentType: string | null;
  /** Whether `open(start > 0)` can start mid-stream without reading from the start. */
  seekable: boolean;
}

export interface SourceOpenOptions {
  /** First byte to read (0-based). Bytes before it are never returned, even if the server ignores Range. */
  start: number;
  /** Fingerprint recorded by an earlier attempt; the source fails with SourceChangedError when it differs. */
  expectedFingerprint?: string;
  signal?: AbortSignal;
}

export interface SourceReader {
  /** Position of the next byte `read()` returns. */
  readonly position: number;
  /**
   * Fills `target` from `position`. Resolves with the number of bytes written, which is less than
   * `target.length` only at the end of the source (0 = end).
   */
  read(target: Uint8Array, signal?: AbortSignal): Promise<number>;
  /** Releases the file handle / connection. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Random access to a source whose bytes can be read again at any offset, cheaply and identically (a
 * local file): the engine streams each part from it in small chunks, and a retry reads the range again.
 */
export interface RangeReader {
  /**
   * Fills `target` with the bytes at `position`. Resolves with the number of bytes written, which is
   * less than `target.length` only at the end of the source. Calls may overlap (one per part in flight).
   * Unlike `SourceReader.read`, a read in the middle of the source is not followed by a change check:
   * call `checkUnchanged` once a range has been read.
   */
  readAt(target: Uint8Array, position: number, signal?: AbortSignal): Promise<number>;
  /** Fails with SourceChangedError when the source changed since it was opened (covers every byte read so far). */
  checkUnchanged(): Promise<void>;
  /** Releases the file handle. Safe to call twice; pending reads fail. */
  close(): Promise<void>;
}

export interface Source {
  readonly kind: 'file' | 'url';
  /** A description for logs with nothing secret in it (path, or URL without query/credentials). */
  readonly description: string;
  stat(signal?: AbortSignal): Promise<SourceStat>;
  open(options: SourceOpenOptions): Promise<SourceReader>;
  /**
   * Present only on sources that can re-read any range (the capability the engine decides by): a reader
   * of ranges, checked against `expectedFingerprint` like `open`. Sources without it (a URL) have whole
   * parts buffered, since a retry could not read the same bytes again.
   */
  openRanges?(options: Omit<SourceOpenOptions, 'start'>): Promise<RangeReader>;
}
