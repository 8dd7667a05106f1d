import { createHash } from 'node:crypto';
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Crc64 } from '@mediaferry/crc64';
import { randomHex } from '../util/ids.js';

export interface BlobWriteOptions {
  /** Compute the MD5 of the content while writing. */
  md5: boolean;
  /** More bytes than this → BlobTooLargeError (EntityTooLarge). */
  maxBytes: number;
  /** The Content-Length announced, if any: fewer bytes → IncompleteBodyError. */
  expectedLength?: number;
}

export interface WrittenBlob {
  /** Absolute path of the finished file (unique per write). */
  file: string;
  size: number;
  md5: Buffer | undefined;
  crc64: bigint;
}

export class BlobTooLargeError extends Error {
  override name = 'BlobTooLargeError';
  constructor(readonly size: number) {
    super(`body exceeds the limit (${size} bytes so far)`);
  }
}

export class IncompleteBodyError extends Error {
  override name = 'IncompleteBodyError';
}

/**
 * Bytes gathered before one `writev`. Socket chunks are ≤ 64 KiB; writing each on its own costs a
 * thread-pool round trip per chunk (≈30 µs of CPU here, more than the copy), so they are handed to the
 * kernel 16 at a time, without copying them together.
 */
const WRITE_BATCH_BYTES = 1024 * 1024;
/** Caps the iovec count of one `writev` (IOV_MAX is 1024) when a body arrives in tiny chunks. */
const WRITE_BATCH_CHUNKS = 256;

/** `writev` until every byte is written (a regular file rarely takes less, but may). */
async function writeAll(fh: FileHandle, chunks: Buffer[]): Promise<void> {
  let rest = chunks;
  while (rest.length > 0) {
    const { bytesWritten } = await fh.writev(rest);
    let skip = bytesWritten;
    let i = 0;
    while (i < rest.length && skip >= rest[i]!.length) skip -= rest[i++]!.length;
    rest = rest.slice(i);
    if (skip > 0 && rest.length > 0) rest[0] = rest[0]!.subarray(skip);
  }
}

/**
 * Streams `source` into a new file under `dir`, hashing (CRC-64, optionally MD5) as it goes. Chunks are
 * written in batches of ~1 MiB with at most one write in flight, so at most two batches of the body are
 * held whatever its size, and a slow disk slows the reading of the body (backpressure). The data is
 * written to a temp name and renamed when complete, so no reader ever sees a partial file. On any failure
 * the temp file is removed and the error rethrown.
 */
export async function writeBlob(
  source: AsyncIterable<Buffer>,
  dir: string,
  options: BlobWriteOptions,
): Promise<WrittenBlob> {
  const name = randomHex(12);
  const tmp = path.join(dir, `${name}.tmp`);
  const file = path.join(dir, `${name}.blob`);
  const fh = await open(tmp, 'w');
  let closed = false;
  const md5 = options.md5 ? createHash('md5') : undefined;
  const crc = new Crc64();
  let size = 0;
  let batch: Buffer[] = [];
  let batchBytes = 0;
  let inFlight: Promise<void> | undefined;
  let writeError: { err: unknown } | undefined;
  const flush = async () => {
    if (inFlight) await inFlight; // one write at a time keeps the file in order and memory bounded
    if (writeError) throw writeError.err;
    if (batch.length === 0) return;
    const chunks = batch;
    batch = [];
    batchBytes = 0;
    inFlight = writeAll(fh, chunks).catch((err: unknown) => {
      writeError ??= { err };
    });
  };
  try {
    for await (const chunk of source) {
      size += chunk.length;
      if (size > options.maxBytes) throw new BlobTooLargeError(size);
      md5?.update(chunk);
      crc.update(chunk);
      batch.push(chunk);
      batchBytes += chunk.length;
      if (batchBytes >= WRITE_BATCH_BYTES || batch.length >= WRITE_BATCH_CHUNKS) await flush();
    }
    if (options.expectedLength !== undefined && size < options.expectedLength) {
      throw new IncompleteBodyError(`got ${size} of ${options.expectedLength} bytes`);
    }
    await flush();
    await inFlight;
    if (writeError) throw writeError.err;
    closed = true;
    await fh.close();
    await rename(tmp, file);
    return { file, size, md5: md5?.digest(), crc64: crc.digest() };
  } catch (err) {
    await inFlight;
    if (!closed) await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  }
}
