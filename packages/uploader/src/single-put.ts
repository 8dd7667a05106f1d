import {
  type CompletedObject,
  IntegrityMismatchError,
  type Source,
  SourceChangedError,
  type StorageTarget,
} from '@mediaferry/core';
import { partCrc64 } from './part-crc.js';
import type { ProgressMeter } from './progress-meter.js';

export interface SinglePutOptions {
  source: Source;
  putObject: NonNullable<StorageTarget['putObject']>;
  /** Fingerprint the checkpoint recorded: the source must still have it. */
  fingerprint: string;
  size: number;
  /** Runs one operation with the engine's retries. */
  retrying: <T>(what: string, op: (signal: AbortSignal) => Promise<T>) => Promise<T>;
  meter: ProgressMeter;
  events?:
    | { onPartUploaded?(event: { durationMs: number; bytes: number; attempts: number }): void }
    | undefined;
  now: () => number;
}

export interface SinglePutResult {
  completed: CompletedObject;
  /** CRC-64 of the bytes sent, unsigned decimal. */
  crc: string;
}

/**
 * A source of at most one part goes up in a single PutObject: no multipart upload ever exists, so a
 * worker killed midway leaves nothing to abort (an image's expired credential could not abort it).
 * The source is read whole (≤ one part of memory, as the multipart path), hashed, sent, and the
 * server's CRC-64 checked against it.
 */
export async function putWholeSource(o: SinglePutOptions): Promise<SinglePutResult> {
  const body = await o.retrying('read source', (signal) => readAll(o.source, o.fingerprint, o.size, signal));
  o.meter.read(body.byteLength);
  const crcPromise = partCrc64(body);
  const started = o.now();
  let attempts = 0;
  const completed = await o.retrying('put object', (signal) => {
    attempts++;
    o.meter.reset(1);
    return o.putObject(body, { signal, onBytesSent: (n) => o.meter.sent(1, n) });
  });
  const crc = (await crcPromise).toString();
  if (completed.crc64 !== null && completed.crc64 !== crc) {
    throw new IntegrityMismatchError(`object CRC-64 ${completed.crc64} differs from the source's ${crc}`, {
      details: { expected: crc, actual: completed.crc64 },
    });
  }
  o.meter.partDone(1, body.byteLength);
  o.events?.onPartUploaded?.({ durationMs: o.now() - started, bytes: body.byteLength, attempts });
  return { completed, crc };
}

/** Exactly `size` bytes from the start of the source, or SourceChangedError. */
async function readAll(source: Source, fingerprint: string, size: number, signal: AbortSignal) {
  const reader = await source.open({ start: 0, expectedFingerprint: fingerprint, signal });
  try {
    const body = new Uint8Array(size);
    let filled = 0;
    while (filled < size) {
      const n = await reader.read(body.subarray(filled), signal);
      if (n === 0) break;
      filled += n;
    }
    const extra = filled === size ? await reader.read(new Uint8Array(1), signal) : 0;
    if (filled !== size || extra !== 0) {
      throw new SourceChangedError(
        `source ${source.description} is no longer ${size} bytes (read ${filled + extra}${extra ? '+' : ''})`,
      );
    }
    return body;
  } finally {
    await reader.close();
  }
}
