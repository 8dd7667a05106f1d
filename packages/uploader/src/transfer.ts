import { AbortError, IntegrityMismatchError, type Source, type StorageTarget } from '@mediaferry/core';
import { BufferPool } from './buffer-pool.js';
import type { CheckpointPart, CheckpointStore } from './checkpoint-store.js';
import { partCrc64 } from './part-crc.js';
import type { PartPlan } from './part-planner.js';
import { PartProducer, type ProducedPart } from './part-producer.js';
import { type RetryOptions, uploadPartWithRetry } from './part-uploader.js';
import type { ProgressMeter } from './progress-meter.js';
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
  /** Parts already done (skipped); every part this transfer completes is added. */
  parts: Map<number, CheckpointPart>;
  meter: ProgressMeter;
  events: EngineEventListener | undefined;
  onUploaded: (bytes: number) => void;
}

/**
 * lib-storage's shape: one producer reads parts into a pool of (parallelism + 1) buffers and
 * `parallelism` identical loops upload them; memory is (parallelism + 1) × part size whatever the source
 * size. The producer runs ahead on its own (it is not pulled by the loops): while every loop is busy
 * uploading, it reads the next part into the spare buffer, so a loop that finishes finds a part ready and
 * a slow source (a URL) is read while the network is busy, not in between. Each part's CRC-64 is computed
 * while that same buffer is on its way to the socket, checked against the server's part CRC when it
 * reports one, and recorded with the part in the checkpoint (owner-checked) before the buffer goes back to
 * the pool. The first failure stops everything.
 */
export async function transferParts(o: TransferOptions): Promise<void> {
  const pool = new BufferPool({ capacity: o.parallelism + 1 });
  const stop = new AbortController();
  const signal = AbortSignal.any([o.signal, stop.signal]);
  const done = new Map([...o.parts.values()].map((p) => [p.partNumber, p.size]));
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
    onRead: (n) => o.meter.read(n),
    onRetry: (err, attempt) => o.onRetry?.('source', err, attempt, 0),
    ...(o.verifyContent
      ? { verifyCrcs: new Map([...o.parts.values()].map((p) => [p.partNumber, BigInt(p.crc64)])) }
      : {}),
  });
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
          pool.release(part.buffer);
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
        pool.release(part.buffer);
      }
    }
  };

  try {
    await Promise.all([produce(), ...Array.from({ length: o.parallelism }, loop)]);
  } finally {
    for (let part = ready.take(); part !== null; part = ready.take()) pool.release(part.buffer);
    await producer.close();
    pool.drain();
  }
  if (o.signal.aborted) throw new AbortError('upload aborted', { cause: o.signal.reason });
  if (failure) throw failure.err;
}

/** Parts read and waiting for a loop; `shift` waits for one, or gets null once closed and empty. */
class PartQueue {
  readonly #parts: ProducedPart[] = [];
  readonly #waiters: ((part: ProducedPart | null) => void)[] = [];
  #closed = false;

  push(part: ProducedPart): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(part);
    else this.#parts.push(part);
  }

  shift(): Promise<ProducedPart | null> {
    const part = this.take();
    if (part !== null || this.#closed) return Promise.resolve(part);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** The next waiting part, without waiting. */
  take(): ProducedPart | null {
    return this.#parts.shift() ?? null;
  }

  /** No more parts: every waiting loop gets null (parts already queued are still handed out). */
  close(): void {
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) waiter(null);
  }
}

async function uploadOne(o: TransferOptions, part: ProducedPart, signal: AbortSignal): Promise<void> {
  const started = performance.now();
  const crc = partCrc64(part.body);
  crc.catch(() => {});
  const outcome = await uploadPartWithRetry({
    ...o,
    signal,
    partNumber: part.partNumber,
    body: part.body,
    onBytesSent: (n) => o.meter.sent(part.partNumber, n),
    onRetry: (reason, err, attempt, delayMs) => {
      o.meter.reset(part.partNumber);
      o.onRetry?.(reason, err, attempt, delayMs);
    },
    verify: async (uploaded) => {
      if (uploaded.crc64 === undefined || uploaded.crc64 === null) return;
      const ours = (await crc).toString();
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
    crc64: (await crc).toString(),
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
