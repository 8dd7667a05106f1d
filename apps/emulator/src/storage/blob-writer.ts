import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
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

/** Large enough that disk writes overlap with socket reads; bounded, so memory stays flat. */
const WRITE_HIGH_WATER_MARK = 1024 * 1024;

/**
 * Streams `source` into a new file under `dir`, hashing (CRC-64, optionally MD5) as it goes; never holds
 * more than one write buffer of the body. The data is written to a temp name and renamed when complete,
 * so no reader ever sees a partial file. On any failure the temp file is removed and the error rethrown.
 */
export async function writeBlob(
  source: AsyncIterable<Buffer>,
  dir: string,
  options: BlobWriteOptions,
): Promise<WrittenBlob> {
  const name = randomHex(12);
  const tmp = path.join(dir, `${name}.tmp`);
  const file = path.join(dir, `${name}.blob`);
  const out = createWriteStream(tmp, { highWaterMark: WRITE_HIGH_WATER_MARK });
  let writeError: Error | undefined;
  out.on('error', (err) => {
    writeError = err;
  });
  const md5 = options.md5 ? createHash('md5') : undefined;
  const crc = new Crc64();
  let size = 0;
  try {
    for await (const chunk of source) {
      if (writeError) throw writeError;
      size += chunk.length;
      if (size > options.maxBytes) throw new BlobTooLargeError(size);
      md5?.update(chunk);
      crc.update(chunk);
      if (!out.write(chunk)) await waitDrain(out);
    }
    if (options.expectedLength !== undefined && size < options.expectedLength) {
      throw new IncompleteBodyError(`got ${size} of ${options.expectedLength} bytes`);
    }
    await new Promise<void>((resolve, reject) => {
      out.end((err?: Error | null) => (err ? reject(err) : resolve()));
    });
    if (writeError) throw writeError;
    await rename(tmp, file);
    return { file, size, md5: md5?.digest(), crc64: crc.digest() };
  } catch (err) {
    out.destroy();
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

function waitDrain(out: NodeJS.WritableStream & { destroyed?: boolean }): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      cleanup();
      resolve();
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      out.off('drain', onDrain);
      out.off('error', onError);
    };
    out.on('drain', onDrain);
    out.on('error', onError);
  });
}
