import { mkdir, readdir, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { newUploadId, randomHex } from '../util/ids.js';

/** One file holding a run of an object's bytes (a whole PutObject body, or one part). */
export interface Segment {
  file: string;
  size: number;
}

export interface StoredPart extends Segment {
  partNumber: number;
  /** Quoted upper-case hex, as sent in the ETag header. */
  etag: string;
  crc64: bigint;
  lastModified: Date;
}

export interface ObjectRecord {
  bucket: string;
  key: string;
  size: number;
  /** Quoted, as sent in the ETag header. */
  etag: string;
  crc64: bigint;
  contentType: string;
  meta: Record<string, string>;
  lastModified: Date;
  objectType: 'Normal' | 'Multipart';
  /** Content = these files in order; multipart objects keep their part files (no concatenation). */
  segments: Segment[];
}

export interface MultipartUpload {
  uploadId: string;
  bucket: string;
  key: string;
  initiated: Date;
  contentType: string;
  meta: Record<string, string>;
  parts: Map<number, StoredPart>;
}

export interface ObjectStoreEvents {
  /** A complete object now exists at bucket/key (PutObject or CompleteMultipartUpload). */
  objectWritten?(object: ObjectRecord): void;
  /** Objects or uploads changed (the state snapshot is due for a write). */
  changed?(): void;
}

export interface ObjectStoreOptions {
  /**
   * Keep the files in `<dataDir>/blobs/persistent/` across restarts (the metadata is then saved by the
   * caller, see `snapshot()`/`restore()`) instead of a per-process directory removed on close.
   * @defaultValue false
   */
  persistent?: boolean;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Object metadata in memory, bytes in files under `<dataDir>/blobs/<pid>-<rand>/` — one directory per
 * emulator instance, removed on close (the metadata dies with the process, so the bytes would be
 * garbage); directories left by dead processes are pruned at start. A persistent store uses
 * `<dataDir>/blobs/persistent/` instead, keeps it on close and gets its metadata back with `restore()`. Files are reference-counted:
 * an upload's part, the object built from it, and every GET streaming it each hold a reference, and the
 * file is unlinked when the last one lets go — so overwriting or deleting an object never breaks a
 * download in flight, and Complete never copies data.
 */
export class ObjectStore {
  readonly blobDir: string;
  readonly #blobRoot: string;
  readonly #buckets = new Map<string, Map<string, ObjectRecord>>();
  readonly #uploads = new Map<string, MultipartUpload>();
  readonly #refs = new Map<string, number>();
  readonly #events: ObjectStoreEvents;
  readonly #persistent: boolean;
  /** Persistent: files no longer referenced, kept until a snapshot without them is on disk. */
  #unlinkLater: string[] | undefined;

  constructor(
    dataDir: string,
    buckets: Iterable<string>,
    events: ObjectStoreEvents = {},
    options: ObjectStoreOptions = {},
  ) {
    this.#persistent = options.persistent ?? false;
    if (this.#persistent) this.#unlinkLater = [];
    this.#blobRoot = path.join(dataDir, 'blobs');
    this.blobDir = path.join(
      this.#blobRoot,
      this.#persistent ? 'persistent' : `${process.pid}-${randomHex(4)}`,
    );
    for (const b of buckets) this.#buckets.set(b, new Map());
    this.#events = events;
  }

  async init(): Promise<void> {
    await mkdir(this.blobDir, { recursive: true });
    for (const name of await readdir(this.#blobRoot)) {
      const pid = Number(name.split('-')[0]);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid)) {
        await rm(path.join(this.#blobRoot, name), { recursive: true, force: true }).catch(() => {});
      }
    }
  }

  /** Removes this instance's files (a persistent store keeps them). */
  async destroy(): Promise<void> {
    if (!this.#persistent) await rm(this.blobDir, { recursive: true, force: true });
  }

  /**
   * Every object and open upload (what a persistent store's caller saves), and `committed`: call it once
   * this snapshot is safely on disk to unlink the files released before it. Until then the previous
   * snapshot may still name them, so a crash after an overwrite or delete restores the old object
   * rather than losing it.
   */
  snapshot(): { objects: ObjectRecord[]; uploads: MultipartUpload[]; committed: () => void } {
    const objects: ObjectRecord[] = [];
    for (const bucket of this.#buckets.values()) objects.push(...bucket.values());
    const released = this.#unlinkLater?.splice(0) ?? [];
    const committed = () => {
      for (const file of released) unlink(file).catch(() => {});
    };
    return { objects, uploads: [...this.#uploads.values()], committed };
  }

  /**
   * Loads saved objects and uploads (after `init()`, before serving). Files are named relative to
   * `blobDir`. A record whose file is gone or has the wrong size (a crash between a delete and the next
   * snapshot, or lost page cache) is dropped and logged through `dropped`; files no record names
   * (written after the last snapshot) are removed.
   */
  async restore(
    state: { objects: ObjectRecord[]; uploads: MultipartUpload[] },
    dropped: (what: string) => void,
  ): Promise<void> {
    const sizes = new Map<string, number>();
    for (const name of await readdir(this.blobDir)) {
      const file = path.join(this.blobDir, name);
      if (!name.endsWith('.blob')) {
        await unlink(file).catch(() => {});
        continue;
      }
      sizes.set(file, (await stat(file)).size);
    }
    const intact = (segments: readonly Segment[]) => segments.every((s) => sizes.get(s.file) === s.size);
    for (const o of state.objects) {
      if (!this.#buckets.has(o.bucket)) this.#buckets.set(o.bucket, new Map());
      if (!intact(o.segments)) {
        dropped(`object ${o.bucket}/${o.key}`);
        continue;
      }
      this.retain(o.segments);
      this.#buckets.get(o.bucket)!.set(o.key, o);
    }
    for (const u of state.uploads) {
      for (const [n, part] of u.parts) {
        if (intact([part])) continue;
        dropped(`part ${n} of upload ${u.uploadId}`);
        u.parts.delete(n);
      }
      this.retain([...u.parts.values()]);
      this.#uploads.set(u.uploadId, u);
    }
    for (const file of sizes.keys()) {
      if (!this.#refs.has(file)) await unlink(file).catch(() => {});
    }
  }

  hasBucket(bucket: string): boolean {
    return this.#buckets.has(bucket);
  }

  bucketNames(): string[] {
    return [...this.#buckets.keys()];
  }

  /** Takes a reference on each file (a reader, or a record that now points at them). */
  retain(segments: readonly Segment[]): void {
    for (const s of segments) this.#refs.set(s.file, (this.#refs.get(s.file) ?? 0) + 1);
  }

  /** Drops a reference on each file; the last one unlinks it. */
  release(segments: readonly Segment[]): void {
    for (const s of segments) {
      const n = (this.#refs.get(s.file) ?? 1) - 1;
      if (n > 0) {
        this.#refs.set(s.file, n);
      } else {
        this.#refs.delete(s.file);
        if (this.#unlinkLater) this.#unlinkLater.push(s.file);
        else unlink(s.file).catch(() => {});
      }
    }
  }

  getObject(bucket: string, key: string): ObjectRecord | undefined {
    return this.#buckets.get(bucket)?.get(key);
  }

  /** Stores `record` (taking over one reference per segment, already held by the caller). */
  putObject(record: ObjectRecord): void {
    const objects = this.#buckets.get(record.bucket);
    if (!objects) throw new Error(`no bucket ${record.bucket}`);
    const previous = objects.get(record.key);
    objects.set(record.key, record);
    if (previous) this.release(previous.segments);
    this.#events.changed?.();
    this.#events.objectWritten?.(record);
  }

  deleteObject(bucket: string, key: string): boolean {
    const objects = this.#buckets.get(bucket);
    const previous = objects?.get(key);
    if (!objects || !previous) return false;
    objects.delete(key);
    this.release(previous.segments);
    this.#events.changed?.();
    return true;
  }

  /** Objects of a bucket sorted by key (ListObjects order). */
  listObjects(bucket: string): ObjectRecord[] {
    const objects = this.#buckets.get(bucket);
    if (!objects) return [];
    return [...objects.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  initiateUpload(
    bucket: string,
    key: string,
    contentType: string,
    meta: Record<string, string>,
  ): MultipartUpload {
    const upload: MultipartUpload = {
      uploadId: newUploadId(),
      bucket,
      key,
      initiated: new Date(),
      contentType,
      meta,
      parts: new Map(),
    };
    this.#uploads.set(upload.uploadId, upload);
    this.#events.changed?.();
    return upload;
  }

  /** The upload, if it exists and belongs to bucket/key. */
  getUpload(bucket: string, key: string, uploadId: string): MultipartUpload | undefined {
    const upload = this.#uploads.get(uploadId);
    return upload && upload.bucket === bucket && upload.key === key ? upload : undefined;
  }

  /** Records a part (its file reference passes to the upload); a part it replaces is released. */
  setPart(upload: MultipartUpload, part: StoredPart): void {
    const previous = upload.parts.get(part.partNumber);
    upload.parts.set(part.partNumber, part);
    if (previous) this.release([previous]);
    this.#events.changed?.();
  }

  /** Forgets an upload and releases its parts (Abort, or after Complete took its own references). */
  removeUpload(upload: MultipartUpload): void {
    if (this.#uploads.get(upload.uploadId) !== upload) return;
    this.#uploads.delete(upload.uploadId);
    this.release([...upload.parts.values()]);
    upload.parts.clear();
    this.#events.changed?.();
  }

  isLive(upload: MultipartUpload): boolean {
    return this.#uploads.get(upload.uploadId) === upload;
  }

  /** Uploads of a bucket sorted by key, then initiation time, then id (ListMultipartUploads order). */
  listUploads(bucket: string): MultipartUpload[] {
    const list: MultipartUpload[] = [];
    for (const u of this.#uploads.values()) if (u.bucket === bucket) list.push(u);
    return list.sort((a, b) =>
      a.key !== b.key
        ? a.key < b.key
          ? -1
          : 1
        : a.initiated.getTime() - b.initiated.getTime() || (a.uploadId < b.uploadId ? -1 : 1),
    );
  }

  /** Every upload of bucket/key (DeleteVideo cleans them up). */
  uploadsOf(bucket: string, key: string): MultipartUpload[] {
    return [...this.#uploads.values()].filter((u) => u.bucket === bucket && u.key === key);
  }
}
