/** One request as the admin API reports it; never holds secrets, tokens or signatures. */
export interface RequestLogEntry {
  /** 1, 2, 3… in arrival order. */
  seq: number;
  /** ISO-8601 arrival time. */
  time: string;
  service: 'oss' | 'vod';
  /** 'UploadPart', 'CompleteMultipartUpload', 'CreateUploadVideo', … ('Unknown' if unrecognised). */
  operation: string;
  method: string;
  bucket?: string;
  key?: string;
  partNumber?: number;
  uploadId?: string;
  /** HTTP status sent; 0 when the connection was reset or cut instead. */
  status: number;
  /** OSS/VOD error code, or 'ConnectionReset' / 'ConnectionCut' for injected network faults. */
  errorCode?: string;
  /** Body bytes received (uploads) or sent (GET). */
  bytes: number;
  accessKeyId?: string;
  /** VOD media id for VOD calls that name or create one. */
  mediaId?: string;
  requestId: string;
  durationMs: number;
}

/** Bounded in memory: the oldest entries drop off past `capacity`. */
export class RequestLog {
  #entries: RequestLogEntry[] = [];
  #seq = 0;
  constructor(readonly capacity = 20_000) {}

  nextSeq(): number {
    return ++this.#seq;
  }

  add(entry: RequestLogEntry): void {
    this.#entries.push(entry);
    if (this.#entries.length > this.capacity) this.#entries.splice(0, this.#entries.length - this.capacity);
  }

  /** Entries with seq > `since`, in completion order sorted back into arrival order. */
  list(since = 0): RequestLogEntry[] {
    return this.#entries.filter((e) => e.seq > since).sort((a, b) => a.seq - b.seq);
  }

  clear(): void {
    this.#entries = [];
  }
}
