import {
  AbortError,
  IntegrityMismatchError,
  MediaferryError,
  type Source,
  type StorageTarget,
} from '@mediaferry/core';
import { BufferPool } from './buffer-pool.js';
import type { CheckpointPart, CheckpointStore } from './checkpoint-store.js';
import type { MemoryBudget } from './memory-budget.js';
import { partCrc64 } from './part-crc.js';
import { largestPartSize, type PartPlan } from './part-planner.js';
import { PartProducer } from './part-producer.js';
import { type RetryOptions, uploadPartWithRetry } from './part-uploader.js';
import type { ProgressMeter } from './progress-meter.js';
import type { StreamedPartBody } from './streamed-part-body.js';
import { type ReadyPart, StreamedParts, streamedPartMemory } from './streamed-parts.js';
import type { EngineEventListener } from './upload-engine.options.js';

export interface TransferOptions extends RetryOptions {
  source: Source;
  target: StorageTarget;
  store: CheckpointStore;
  uploadKey: string;
  owner: string;
  uploadId: string;
  plan: PartPlan;
  fingerprint: string;
  seekable: boolean;
  /** Check re-read bytes against the recorded part CRCs (see `PartProducerOptions.verifyCrcs`). */
  verifyContent: boolean;
  parallelism: number;
  /** The worker's memory budget every buffer comes from. */
  budget: MemoryBudget;
  /** Chunk size of streamed parts (re-readable sources). */
  chunkBytes: number;
  /** Parts already done (skipped); every part this transfer completes is added. */
  parts: Map<number, CheckpointPart>;
  meter: ProgressMeter;
  events: EngineEventListener | undefined;
  onUploaded: (bytes: number) => void;
}

/**
 * How a part's bytes travel, decided per source from what it can do: a source that can re-read any range
 * (a local file, `Source.openRanges`) with a known size is streamed, each part read in small chunks while
 * it is sent (memory: two chunks per part in flight, whatever the part size; a retry reads it again).
 * Any other source (a URL, the unknown-length plan, content that must be checked against recorded CRCs)
 * is read into whole-part buffers, since a retry must send bytes that cannot be fetched again.
 */
export function isStreamed(o: Pick<TransferOptions, 'source' | 'plan' | 'verifyContent'>): boolean {
  return o.source.openRanges !== undefined && o.plan.kind === 'fixed' && !o.verifyContent;
}

/** Buffer memory one part of this transfer needs; checked against the whole budget before anything moves. */
export function partMemory(
  o: Pick<TransferOptions, 'source' | 'plan' | 'verifyContent' | 'chunkBytes'>,
): number {
  return isStreamed(o) && o.plan.kind === 'fixed'
    ? streamedPartMemory(o.plan, o.chunkBytes)
    : Math.max(1, largestPartSize(o.plan));
}

/**
 * lib-storage's shape: one producer makes parts ready and `parallelism` identical loops upload them. The
 * producer runs ahead on its own (it is not pulled by the loops): while every loop is busy uploading, it
 * readies the next part, so a loop that finishes finds one waiting and a slow source (a URL) is read
 * while the network is busy, not in between. Every part's memory comes from the worker's budget: a
 * buffered part reads into a pool of (parallelism + 1) buffers, a streamed part takes two chunks. Each
 * part's CRC-64 is computed on the way to the socket, checked against the server's part CRC when it
 * reports one, and recorded with the part in the checkpoint (owner-checked) before its memory goes back.
 * The first failure stops everything.
 */
export async function transferParts(o: TransferOptions): Promise<void> {
  o.budget.assertFits(partMemory(o), 'one part');
  const stop = new AbortController();
  const signal = AbortSignal.any([o.signal, stop.signal]);
  const done = new Map([...o.parts.values()].map((p) => [p.partNumber, p.size]));
  const producer = makeProducer(o, done, signal);
  const ready = new PartQueue();
  let failure: { err: unknown } | undefined;
  const fail = (err: unknown) => {
    if (failure) return;
    failure = { err };
    stop.abort(err);
    ready.close();
  };

  // The producer: stops at the end of the source, on its own failure, or when a loop fails.
  const produce = async () => {
    try {
      for await (const part of producer.parts()) {
        if (signal.aborted) {
          part.release();
          break;
        }
        ready.push(part);
      }
    } catch (err) {
      fail(err);
    } finally {
      ready.close();
    }
  };

  const loop = async () => {
    for (let part = await ready.shift(); part !== null; part = await ready.shift()) {
      try {
        if (!signal.aborted) await uploadOne(o, part, signal);
      } catch (err) {
        fail(err);
      } finally {
        part.release();
      }
    }
  };

  try {
    await Promise.all([produce(), ...Array.from({ length: o.parallelism }, loop)]);
  } finally {
    for (let part = ready.take(); part !== null; part = ready.take()) part.release();
    await producer.close();
  }
  if (o.signal.aborted) throw new AbortError('upload aborted', { cause: o.signal.reason });
  if (failure) throw failure.err;
}

interface Producer {
  parts(): AsyncGenerator<ReadyPart, void, undefined>;
  close(): Promise<void>;
}

function makeProducer(o: TransferOptions, done: Map<number, number>, signal: AbortSignal): Producer {
  const onRead = (n: number) => o.meter.read(n);
  if (isStreamed(o) && o.source.openRanges && o.plan.kind === 'fixed') {
    return new StreamedParts({
      source: o.source as Source & Required<Pick<Source, 'openRanges'>>,
      plan: o.plan,
      fingerprint: o.fingerprint,
      budget: o.budget,
      chunkBytes: o.chunkBytes,
      slots: o.parallelism,
      done,
      signal,
      onRead,
    });
  }
  const pool = new BufferPool({ capacity: o.parallelism + 1, budget: o.budget });
  const producer = new PartProducer({
    source: o.source,
    plan: o.plan,
    fingerprint: o.fingerprint,
    seekable: o.seekable,
    pool,
    done,
    signal,
    maxReadAttempts: o.maxAttempts,
    backoff: o.backoff,
    onRead,
    onRetry: (err, attempt) => o.onRetry?.('source', err, attempt, 0),
    ...(o.verifyContent
      ? { verifyCrcs: new Map([...o.parts.values()].map((p) => [p.partNumber, BigInt(p.crc64)])) }
      : {}),
  });
  return {
    async *parts() {
      for await (const part of producer.parts()) {
        yield { ...part, release: () => pool.release(part.buffer) };
      }
    },
    async close() {
      await producer.close();
      pool.drain();
    },
  };
}

/** Parts read and waiting for a loop; `shift` waits for one, or gets null once closed and empty. */
class PartQueue {
  readonly #parts: ReadyPart[] = [];
  readonly #waiters: ((part: ReadyPart | null) => void)[] = [];
  #closed = false;

  push(part: ReadyPart): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(part);
    else this.#parts.push(part);
  }

  shift(): Promise<ReadyPart | null> {
    const part = this.take();
    if (part !== null || this.#closed) return Promise.resolve(part);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** The next waiting part, without waiting. */
  take(): ReadyPart | null {
    return this.#parts.shift() ?? null;
  }

  /** No more parts: every waiting loop gets null (parts already queued are still handed out). */
  close(): void {
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) waiter(null);
  }
}

async function uploadOne(o: TransferOptions, part: ReadyPart, signal: AbortSignal): Promise<void> {
  const started = performance.now();
  const { body } = part;
  // A buffer is hashed while it is sent; a streamed body hashes each pass as it reads it.
  const buffered = body instanceof Uint8Array ? partCrc64(body) : null;
  buffered?.catch(() => {});
  const crc = async () => (buffered ? await buffered : (body as StreamedPartBody).crc);
  const outcome = await uploadPartWithRetry({
    ...o,
    signal,
    partNumber: part.partNumber,
    body: part.body,
    onBytesSent: (n) => o.meter.sent(part.partNumber, n),
    onRetry: (reason, err, attempt, delayMs) => {
      o.meter.reset(part.partNumber);
      // A streamed part reads its source while it is sent: a failed read fails (and retries) the part.
      const sourceFailed = err instanceof MediaferryError && err.code.startsWith('SOURCE_');
      o.onRetry?.(sourceFailed ? 'source' : reason, err, attempt, delayMs);
    },
    verify: async (uploaded) => {
      if (uploaded.crc64 === undefined || uploaded.crc64 === null) return;
      const ours = String(await crc());
      if (uploaded.crc64 !== ours) {
        // Corrupted on the way: another attempt sends the (intact) buffer again.
        throw new IntegrityMismatchError(
          `part ${part.partNumber}: server CRC-64 ${uploaded.crc64}, ours ${ours}`,
          {
            retryable: true,
          },
        );
      }
    },
  });
  const record: CheckpointPart = {
    partNumber: part.partNumber,
    offset: part.offset,
    size: part.size,
    etag: outcome.part.etag,
    crc64: String(await crc()),
  };
  await o.store.recordPart(o.uploadKey, o.owner, record);
  o.parts.set(part.partNumber, record);
  o.meter.partDone(part.partNumber, part.size);
  o.onUploaded(part.size);
  o.events?.onPartUploaded?.({
    durationMs: performance.now() - started,
    bytes: part.size,
    attempts: outcome.attempts,
  });
}
