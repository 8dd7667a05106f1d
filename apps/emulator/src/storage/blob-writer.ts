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
 * Body bytes are copied into 1 MiB staging buffers and written one buffer at a time, with at most one
 * write in flight while the next buffer fills. Writing each socket chunk (≤ 64 KiB) on its own costs a
 * thread-pool round trip per chunk; holding the chunks until a batch is written keeps some of them alive
 * across a young-generation GC, so they are promoted and pile up until a full GC (~40 per GiB). One
 * memcpy (~0.1 CPU s per GiB) is far cheaper than either.
 */
const STAGE_BYTES = 1024 * 1024;
/** Staging buffers kept for reuse between bodies (the rest are left to the GC). */
const MAX_SPARE_STAGES = 16;
const spareStages: Buffer[] = [];

function takeStage(): Buffer {
  return spareStages.pop() ?? Buffer.allocUnsafeSlow(STAGE_BYTES);
}

function returnStage(stage: Buffer): void {
  if (spareStages.length < MAX_SPARE_STAGES) spareStages.push(stage);
}

/** `write` until every byte is written (a regular file rarely takes less, but may). */
async function writeAll(fh: FileHandle, data: Uint8Array): Promise<void> {
  for (let offset = 0; offset < data.length; ) {
    const { bytesWritten } = await fh.write(data, offset, data.length - offset);
    offset += bytesWritten;
  }
}

/**
 * Streams `source` into a new file under `dir`, hashing (CRC-64, optionally MD5) as it goes. The body
 * passes through two 1 MiB staging buffers (one filling, one being written), so at most 2 MiB of it is
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
  // `filling` takes the body; `writing` is on its way to the file (in flight) or free.
  let filling = takeStage();
  let writing = takeStage();
  let filled = 0;
  let inFlight: Promise<void> | undefined;
  const flush = async () => {
    if (inFlight) await inFlight; // one write at a time keeps the file in order and memory bounded
    if (filled === 0) return;
    const full = filling;
    const length = filled;
    filling = writing;
    writing = full;
    filled = 0;
    inFlight = writeAll(fh, full.subarray(0, length));
    inFlight.catch(() => {}); // awaited by the next flush; this only keeps it from being "unhandled"
  };
  try {
    for await (const chunk of source) {
      size += chunk.length;
      if (size > options.maxBytes) throw new BlobTooLargeError(size);
      md5?.update(chunk);
      crc.update(chunk);
      for (let offset = 0; offset < chunk.length; ) {
        const n = Math.min(chunk.length - offset, STAGE_BYTES - filled);
        chunk.copy(filling, filled, offset, offset + n);
        filled += n;
        offset += n;
        if (filled === STAGE_BYTES) await flush();
      }
    }
    if (options.expectedLength !== undefined && size < options.expectedLength) {
      throw new IncompleteBodyError(`got ${size} of ${options.expectedLength} bytes`);
    }
    await flush();
    await inFlight;
    closed = true;
    await fh.close();
    await rename(tmp, file);
    return { file, size, md5: md5?.digest(), crc64: crc.digest() };
  } catch (err) {
    await inFlight?.catch(() => {});
    if (!closed) await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  } finally {
    // Only once no write can still be reading them.
    await inFlight?.catch(() => {});
    returnStage(filling);
    returnStage(writing);
  }
}
