import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { Crc64 } from '@mediaferry/crc64';

export const MiB = 1024 * 1024;

/** What an upload must reproduce exactly. */
export interface Digest {
  size: number;
  /** Lower-case hex. */
  md5: string;
  /** Unsigned decimal CRC-64/XZ, as OSS reports it. */
  crc64: string;
}

export interface SourceFile extends Digest {
  path: string;
  name: string;
}

/** Digest of bytes arriving in chunks. */
export class Digester {
  readonly #md5 = createHash('md5');
  readonly #crc = new Crc64();
  #size = 0;

  update(chunk: Uint8Array): this {
    this.#md5.update(chunk);
    this.#crc.update(chunk);
    this.#size += chunk.length;
    return this;
  }

  digest(): Digest {
    return { size: this.#size, md5: this.#md5.digest('hex'), crc64: this.#crc.toString() };
  }
}

export function digestBuffer(data: Uint8Array): Digest {
  return new Digester().update(data).digest();
}

export async function digestStream(stream: AsyncIterable<Uint8Array>): Promise<Digest> {
  const d = new Digester();
  for await (const chunk of stream) d.update(chunk);
  return d.digest();
}

export async function digestFile(file: string): Promise<Digest> {
  return await digestStream(createReadStream(file));
}

/**
 * Writes `bytes` random bytes to `dir/name` (1 MiB at a time, so tens of MiB never sit in memory)
 * and returns the file with its digest. Each file is unique, so a mix-up between jobs shows.
 */
export async function makeRandomFile(dir: string, name: string, bytes: number): Promise<SourceFile> {
  const file = path.join(dir, name);
  const handle = await open(file, 'w');
  const d = new Digester();
  try {
    for (let written = 0; written < bytes; ) {
      const chunk = randomBytes(Math.min(MiB, bytes - written));
      await handle.write(chunk);
      d.update(chunk);
      written += chunk.length;
    }
  } finally {
    await handle.close();
  }
  return { path: file, name, ...d.digest() };
}

/** Sizes in MiB (fractions allowed), rounded to whole bytes. */
export function mib(n: number): number {
  return Math.round(n * MiB);
}
