import { type BigIntStats, constants } from 'node:fs';
import { type FileHandle, open, readlink, realpath, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import {
  type MediaferryError,
  type RangeReader,
  type Source,
  SourceChangedError,
  SourceForbiddenError,
  SourceNotFoundError,
  type SourceOpenOptions,
  type SourceReader,
  type SourceStat,
  SourceUnavailableError,
  throwIfAborted,
} from '@mediaferry/core';
import { inferFileName } from './file-name.js';

/**
 * A local file under one of the allowed roots, read with positioned `read(2)` straight into the caller's
 * buffer. Security: the path is resolved (`..`, symlinks) and must stay under a resolved root; only regular
 * files on real filesystems are read; the opened descriptor is checked to be the file that was vetted.
 */

/** Pseudo filesystems whose "regular files" are kernel interfaces, never media (statfs f_type, Linux). */
const PSEUDO_FS_MAGIC = new Set([
  0x9fa0, // proc
  0x62656572, // sysfs
  0x64626720, // debugfs
  0x74726163, // tracefs
  0x73636673, // securityfs
  0x27e0eb, // cgroup
  0x63677270, // cgroup2
  0x62656570, // configfs
  0xcafe4a11, // bpf
  0xde5e81e4, // efivarfs
  0x6165676c, // pstore
  0x1cd1, // devpts
]);
const PSEUDO_FS_PREFIXES = ['/proc', '/sys', '/dev'];

function isUnder(child: string, root: string): boolean {
  if (child === root) return true;
  // Compare with a separator so /srv/media-evil is not "under" /srv/media.
  return child.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** Maps a filesystem error on `displayPath` to the error kinds of the contract. */
function fsError(err: unknown, displayPath: string): MediaferryError {
  const code = errnoOf(err);
  const details = { reason: code ?? 'UNKNOWN' };
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new SourceNotFoundError(`file not found: ${displayPath}`, { cause: err, details });
    case 'EACCES':
    case 'EPERM':
      return new SourceForbiddenError(`permission denied reading ${displayPath}`, { cause: err, details });
    case 'ELOOP':
    case 'ENAMETOOLONG':
    case 'ENXIO':
    case 'EISDIR':
      return new SourceForbiddenError(`cannot read ${displayPath} (${code})`, { cause: err, details });
    default:
      return new SourceUnavailableError(`cannot read ${displayPath}`, { cause: err, details });
  }
}

export interface ResolvedFile {
  /** The path as the caller gave it. */
  requestedPath: string;
  /** Fully resolved path (no symlinks, no `..`), under one of the resolved roots. */
  realPath: string;
  stats: BigIntStats;
  /** The roots, resolved (realpath) at the time of the check. */
  realRoots: string[];
}

async function realRoots(roots: readonly string[]): Promise<string[]> {
  const resolved = await Promise.all(
    // A root that does not exist contains nothing.
    roots.map((root) => realpath(root).catch(() => null)),
  );
  return resolved.filter((r): r is string => r !== null);
}

/** statfs' `f_type` of the filesystem holding `statPath`. */
async function filesystemType(statPath: string, displayPath: string): Promise<number> {
  const fs = await statfs(statPath).catch((err: unknown) => {
    throw fsError(err, displayPath);
  });
  return Number(fs.type);
}

/**
 * Remembers, for `ttlMs`, what the file check would otherwise ask the kernel on every call: the
 * roots' real paths and the filesystem type of each device. For early refusals (the API's
 * `assertSourceAllowed`) only: a root re-pointed or a device remounted is seen up to `ttlMs` late,
 * which is harmless there because the worker checks again, uncached, on the descriptor it reads.
 */
export class FileCheckCache {
  #roots: { key: string; at: number; value: Promise<string[]> } | undefined;
  readonly #fsTypes = new Map<bigint, { at: number; type: number }>();

  /** @param now clock in ms @defaultValue performance.now */
  constructor(
    readonly ttlMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  realRoots(roots: readonly string[]): Promise<string[]> {
    const key = roots.join('\0');
    const now = this.now();
    const hit = this.#roots;
    if (hit && hit.key === key && now - hit.at < this.ttlMs) return hit.value;
    const value = realRoots(roots);
    this.#roots = { key, at: now, value };
    return value;
  }

  async filesystemType(dev: bigint, statPath: string, displayPath: string): Promise<number> {
    const now = this.now();
    const hit = this.#fsTypes.get(dev);
    if (hit && now - hit.at < this.ttlMs) return hit.type;
    const type = await filesystemType(statPath, displayPath);
    if (this.#fsTypes.size > 1024) this.#fsTypes.clear(); // a bound, should devices come and go
    this.#fsTypes.set(dev, { at: now, type });
    return type;
  }
}

function assertNotPseudoPath(realPath: string, displayPath: string): void {
  if (PSEUDO_FS_PREFIXES.some((p) => isUnder(realPath, p))) {
    throw new SourceForbiddenError(`not a regular file: ${displayPath}`, {
      details: { reason: 'PSEUDO_FS' },
    });
  }
}

function assertNotPseudoType(type: number, displayPath: string): void {
  if (PSEUDO_FS_MAGIC.has(type)) {
    throw new SourceForbiddenError(`not a regular file: ${displayPath}`, {
      details: { reason: 'PSEUDO_FS' },
    });
  }
}

/**
 * `statPath` is what statfs is asked about: the real path, or `/proc/self/fd/N` for an open descriptor.
 * With a cache, the type is looked up by `dev` (the file's device) and statfs runs once per TTL.
 */
async function assertRealFilesystem(
  realPath: string,
  displayPath: string,
  statPath = realPath,
  cached?: { cache: FileCheckCache; dev: bigint },
): Promise<void> {
  assertNotPseudoPath(realPath, displayPath);
  if (process.platform !== 'linux') return;
  const type = cached
    ? await cached.cache.filesystemType(cached.dev, statPath, displayPath)
    : await filesystemType(statPath, displayPath);
  assertNotPseudoType(type, displayPath);
}

/**
 * Resolves `requestedPath` and vets it: absolute, lexically and (after realpath) physically under a root,
 * a regular file, not on a pseudo filesystem. Paths outside every root are refused before the filesystem is
 * touched, so the answer never reveals whether such a file exists. `cache` (early checks only, see
 * {@link FileCheckCache}) spares the roots' realpath and the statfs on most calls.
 */
export async function resolveAllowedFile(
  requestedPath: string,
  roots: readonly string[],
  signal?: AbortSignal,
  cache?: FileCheckCache,
): Promise<ResolvedFile> {
  throwIfAborted(signal);
  if (roots.length === 0) {
    throw new SourceForbiddenError('file sources are disabled (MEDIAFERRY_FILE_ROOTS is empty)', {
      details: { reason: 'NO_ROOTS' },
    });
  }
  if (!path.isAbsolute(requestedPath) || requestedPath.includes('\0')) {
    throw new SourceForbiddenError('a file source needs an absolute path', {
      details: { reason: 'RELATIVE' },
    });
  }
  const outside = () =>
    new SourceForbiddenError(`${requestedPath} is outside the allowed file roots`, {
      details: { reason: 'OUTSIDE_ROOTS' },
    });
  const resolvedRoots = cache ? await cache.realRoots(roots) : await realRoots(roots);
  const lexical = path.resolve(requestedPath);
  const lexicalRoots = [...roots.map((r) => path.resolve(r)), ...resolvedRoots];
  if (!lexicalRoots.some((root) => isUnder(lexical, root))) throw outside();

  let realPath: string;
  try {
    realPath = await realpath(lexical);
  } catch (err) {
    throw fsError(err, requestedPath);
  }
  throwIfAborted(signal);
  if (!resolvedRoots.some((root) => isUnder(realPath, root))) throw outside();
  assertNotPseudoPath(realPath, requestedPath);

  let stats: BigIntStats;
  try {
    stats = await stat(realPath, { bigint: true });
  } catch (err) {
    throw fsError(err, requestedPath);
  }
  await assertRealFilesystem(realPath, requestedPath, realPath, cache && { cache, dev: stats.dev });
  if (!stats.isFile()) {
    throw new SourceForbiddenError(`not a regular file: ${requestedPath}`, {
      details: { reason: 'NOT_REGULAR' },
    });
  }
  throwIfAborted(signal);
  return { requestedPath, realPath, stats, realRoots: resolvedRoots };
}

/**
 * Checks where an opened descriptor really is (Linux: the kernel's name for it, `/proc/self/fd/N`).
 * realpath-then-open is a race: a directory on the way can be swapped for a symlink between the two, and
 * comparing dev/ino with a `stat` of the same path proves nothing, as that stat follows the same swapped
 * path. Other platforms keep the path-based checks only.
 */
async function assertDescriptorAllowed(fd: number, file: ResolvedFile, displayPath: string): Promise<void> {
  if (process.platform !== 'linux') return;
  const link = `/proc/self/fd/${fd}`;
  let actual: string;
  try {
    actual = await readlink(link);
  } catch (err) {
    // Fail closed: without /proc the race above cannot be ruled out.
    throw new SourceForbiddenError(`cannot verify where ${displayPath} was opened (is /proc mounted?)`, {
      cause: err,
      details: { reason: 'UNVERIFIABLE' },
    });
  }
  if (!file.realRoots.some((root) => isUnder(actual, root))) {
    throw new SourceForbiddenError(`${displayPath} is outside the allowed file roots`, {
      details: { reason: 'OUTSIDE_ROOTS' },
    });
  }
  await assertRealFilesystem(actual, displayPath, link);
}

/** Identity of a file's content: device, inode, size and modification time (ns). */
export function fileFingerprint(stats: BigIntStats): string {
  return `file:v1:${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}`;
}

// O_NONBLOCK: opening a FIFO swapped in after the checks must not block a threadpool thread waiting for a
// writer (it has no effect on regular files). O_NOFOLLOW: the last component must not have become a symlink.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

export class LocalFileSource implements Source {
  readonly kind = 'file' as const;
  readonly description: string;
  /**
   * What the last `stat()` resolved, for the next `open()` only (taken once): the path checks are not
   * repeated there, as `open()` proves on the descriptor itself that it is the vetted file (same
   * dev/inode) and where it really is (under a root, on a real filesystem).
   */
  #vetted: ResolvedFile | undefined;

  constructor(
    readonly path: string,
    private readonly roots: readonly string[],
  ) {
    this.description = path;
  }

  async stat(signal?: AbortSignal): Promise<SourceStat> {
    const resolved = await resolveAllowedFile(this.path, this.roots, signal);
    this.#vetted = resolved;
    const { fileName, contentType } = inferFileName({ path: this.path });
    return {
      size: Number(resolved.stats.size),
      fingerprint: fileFingerprint(resolved.stats),
      fileName,
      contentType,
      seekable: true,
    };
  }

  async open(options: SourceOpenOptions): Promise<SourceReader> {
    const vetted = this.#vetted;
    this.#vetted = undefined;
    if (vetted) {
      try {
        return await this.#open(vetted, options);
      } catch (err) {
        // Renamed, replaced or re-linked since stat(): what a fresh resolution would have found out.
        if (!(err instanceof StaleResolutionError)) throw err;
        throwIfAborted(options.signal);
      }
    }
    const resolved = await resolveAllowedFile(this.path, this.roots, options.signal);
    try {
      return await this.#open(resolved, options);
    } catch (err) {
      if (err instanceof StaleResolutionError) throw err.error;
      throw err;
    }
  }

  /** A file reads any range again: one descriptor for all the parts of an upload, read with `pread`. */
  async openRanges(options: Omit<SourceOpenOptions, 'start'>): Promise<RangeReader> {
    return (await this.open({ ...options, start: 0 })) as LocalFileReader;
  }

  async #open(resolved: ResolvedFile, options: SourceOpenOptions): Promise<LocalFileReader> {
    let handle: FileHandle;
    try {
      handle = await open(resolved.realPath, OPEN_FLAGS);
    } catch (err) {
      // ELOOP here means the last component became a symlink after realpath: resolve again next attempt.
      if (errnoOf(err) === 'ELOOP') {
        throw new StaleResolutionError(
          new SourceUnavailableError(`${this.path} changed while being opened`, { cause: err }),
        );
      }
      // ENOENT/ENOTDIR: gone from where it was resolved (perhaps moved since a reused stat()).
      const code = errnoOf(err);
      const mapped = fsError(err, this.path);
      throw code === 'ENOENT' || code === 'ENOTDIR' ? new StaleResolutionError(mapped) : mapped;
    }
    try {
      const opened = await handle.stat({ bigint: true });
      if (!opened.isFile()) {
        throw new SourceForbiddenError(`not a regular file: ${this.path}`, {
          details: { reason: 'NOT_REGULAR' },
        });
      }
      // The descriptor must be the very file that was vetted (a directory on the way may have been swapped).
      if (opened.dev !== resolved.stats.dev || opened.ino !== resolved.stats.ino) {
        throw new StaleResolutionError(
          new SourceUnavailableError(`${this.path} was replaced while being opened`),
        );
      }
      await assertDescriptorAllowed(handle.fd, resolved, this.path);
      const fingerprint = fileFingerprint(opened);
      if (options.expectedFingerprint !== undefined && options.expectedFingerprint !== fingerprint) {
        throw new SourceChangedError(`${this.path} changed since the upload started (size, mtime or inode)`);
      }
      if (!Number.isSafeInteger(options.start) || options.start < 0) {
        throw new RangeError(`invalid start offset ${options.start}`);
      }
      if (options.start > Number(opened.size)) {
        throw new SourceChangedError(`${this.path} is shorter than the resume position ${options.start}`);
      }
      throwIfAborted(options.signal);
      return new LocalFileReader(handle, this.path, opened, options.start);
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
  }
}

/** `open()` found the file resolved earlier no longer there: `error` unless a fresh resolution helps. */
class StaleResolutionError extends Error {
  constructor(readonly error: MediaferryError) {
    super(error.message);
  }
}

/** Reads with `pread` at the reader's position; re-checks size and mtime after every read. */
class LocalFileReader implements SourceReader, RangeReader {
  #position: number;
  #closing: Promise<void> | undefined;

  constructor(
    private readonly handle: FileHandle,
    private readonly displayPath: string,
    private readonly opened: BigIntStats,
    start: number,
  ) {
    this.#position = start;
  }

  get position(): number {
    return this.#position;
  }

  async read(target: Uint8Array, signal?: AbortSignal): Promise<number> {
    const filled = await this.#pread(target, this.#position, signal);
    // Checked after every read so the bytes just returned are covered: a file written meanwhile is refused.
    await this.#assertUnchanged(this.#position + filled, filled < target.length);
    this.#position += filled;
    return filled;
  }

  /**
   * Positioned reads leave `position` alone, so several may run at once (parts in flight). The change
   * check runs at the end of the file only; a streamed part calls `checkUnchanged` once it was read
   * (one `fstat` per part instead of one per chunk).
   */
  async readAt(target: Uint8Array, position: number, signal?: AbortSignal): Promise<number> {
    const filled = await this.#pread(target, position, signal);
    if (filled < target.length) await this.#assertUnchanged(position + filled, true);
    return filled;
  }

  async checkUnchanged(): Promise<void> {
    await this.#assertUnchanged(0, false);
  }

  async #pread(target: Uint8Array, position: number, signal?: AbortSignal): Promise<number> {
    if (this.#closing) throw new Error('read() after close()');
    throwIfAborted(signal);
    let filled = 0;
    try {
      while (filled < target.length) {
        const { bytesRead } = await this.handle.read(
          target,
          filled,
          target.length - filled,
          position + filled,
        );
        if (bytesRead === 0) break;
        filled += bytesRead;
        throwIfAborted(signal);
      }
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      throw fsError(err, this.displayPath);
    }
    return filled;
  }

  /** Size and mtime as when opened (and, at the end of the file, `end` is its size). */
  async #assertUnchanged(end: number, atEof: boolean): Promise<void> {
    let now: BigIntStats;
    try {
      now = await this.handle.stat({ bigint: true });
    } catch (err) {
      throw fsError(err, this.displayPath);
    }
    const changed =
      now.size !== this.opened.size ||
      now.mtimeNs !== this.opened.mtimeNs ||
      (atEof && BigInt(end) !== this.opened.size);
    if (changed) {
      throw new SourceChangedError(`${this.displayPath} changed while being read`);
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.handle.close().catch(() => undefined);
    return this.#closing;
  }
}
