import { readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type {
  MultipartUpload,
  ObjectRecord,
  ObjectStore,
  Segment,
  StoredPart,
} from '../storage/object-store.js';
import type { CredentialStore, StsCredential } from '../sts/credential-store.js';
import type { Media, MediaStore } from '../vod/media-store.js';
import { readSnapshot, type Snapshot } from './snapshot-file.js';

/** `<dataDir>/state.json`: everything the emulator knows besides object bytes. */
export const STATE_FILE = 'state.json';
const VERSION = 1;

type Json<T, DateKeys extends keyof T> = Omit<T, DateKeys> & { [K in DateKeys]: string };
type SavedSegment = Segment; // file: name relative to the blob dir
type SavedPart = Omit<Json<StoredPart, 'lastModified'>, 'crc64'> & { crc64: string };
type SavedObject = Omit<Json<ObjectRecord, 'lastModified'>, 'crc64' | 'segments'> & {
  crc64: string;
  segments: SavedSegment[];
};
type SavedUpload = Omit<Json<MultipartUpload, 'initiated'>, 'parts'> & { parts: SavedPart[] };
type SavedMedia = Json<Media, 'creationTime' | 'modificationTime'>;

interface SavedState {
  version: number;
  vodBucket: string;
  buckets: string[];
  objects: SavedObject[];
  uploads: SavedUpload[];
  media: SavedMedia[];
  credentials: StsCredential[];
}

export interface LiveState {
  vodBucket: string;
  store: ObjectStore;
  media: MediaStore;
  sts: CredentialStore;
}

/**
 * The JSON snapshot of the live state (file names relative to the blob dir, so the dir can move), and
 * what to do once it is on disk (unlink the object files it no longer names).
 */
export function encodeState(s: LiveState): Snapshot {
  const { objects, uploads, committed } = s.store.snapshot();
  return { json: encode(s, objects, uploads), committed };
}

function encode(s: LiveState, objects: ObjectRecord[], uploads: MultipartUpload[]): SavedState {
  const rel = (file: string) => path.basename(file);
  return {
    version: VERSION,
    vodBucket: s.vodBucket,
    buckets: s.store.bucketNames(),
    objects: objects.map((o) => ({
      ...o,
      lastModified: o.lastModified.toISOString(),
      crc64: o.crc64.toString(),
      segments: o.segments.map((g) => ({ file: rel(g.file), size: g.size })),
    })),
    uploads: uploads.map((u) => ({
      ...u,
      initiated: u.initiated.toISOString(),
      parts: [...u.parts.values()].map((p) => ({
        ...p,
        file: rel(p.file),
        crc64: p.crc64.toString(),
        lastModified: p.lastModified.toISOString(),
      })),
    })),
    media: s.media.list().map((m) => ({
      ...m,
      creationTime: m.creationTime.toISOString(),
      modificationTime: m.modificationTime.toISOString(),
    })),
    credentials: s.sts.list(),
  };
}

/** A saved state, read back; undefined when the data dir has none yet. */
export interface LoadedState {
  vodBucket: string;
  buckets: string[];
  apply(live: Omit<LiveState, 'vodBucket'>, dropped: (what: string) => void): Promise<void>;
}

export async function loadState(dataDir: string): Promise<LoadedState | undefined> {
  const file = path.join(dataDir, STATE_FILE);
  const saved = (await readSnapshot(file)) as SavedState | undefined;
  if (saved === undefined) return undefined;
  if (saved.version !== VERSION) {
    throw new Error(`${file}: unknown state version ${String(saved.version)} (expected ${VERSION})`);
  }
  return {
    vodBucket: saved.vodBucket,
    buckets: saved.buckets,
    async apply(live, dropped) {
      const abs = (name: string) => path.join(live.store.blobDir, path.basename(name));
      const objects: ObjectRecord[] = saved.objects.map((o) => ({
        ...o,
        lastModified: new Date(o.lastModified),
        crc64: BigInt(o.crc64),
        segments: o.segments.map((g) => ({ file: abs(g.file), size: g.size })),
      }));
      const uploads: MultipartUpload[] = saved.uploads.map((u) => ({
        ...u,
        initiated: new Date(u.initiated),
        parts: new Map(
          u.parts.map((p) => [
            p.partNumber,
            { ...p, file: abs(p.file), crc64: BigInt(p.crc64), lastModified: new Date(p.lastModified) },
          ]),
        ),
      }));
      await live.store.restore({ objects, uploads }, dropped);
      for (const m of saved.media) {
        live.media.add({
          ...m,
          creationTime: new Date(m.creationTime),
          modificationTime: new Date(m.modificationTime),
        });
      }
      live.sts.restore(saved.credentials);
    },
  };
}

/** Processes of this one holding a data dir (a pid lock cannot tell them apart). */
const heldHere = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Claims `<dataDir>/emulator.pid`: two emulators sharing a data dir would overwrite each other's state
 * and delete each other's files. A lock left by a dead process is taken over. Returns the release.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const file = path.join(dataDir, 'emulator.pid');
  const key = path.resolve(dataDir);
  const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  if (heldHere.has(key) || (holder > 0 && holder !== process.pid && alive(holder))) {
    throw new Error(
      `data dir ${dataDir} is in use by another emulator (pid ${heldHere.has(key) ? process.pid : holder})`,
    );
  }
  heldHere.add(key);
  await writeFile(file, `${process.pid}\n`);
  return async () => {
    heldHere.delete(key);
    await unlink(file).catch(() => {});
  };
}
