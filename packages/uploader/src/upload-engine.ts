import { randomUUID } from 'node:crypto';
import { type StorageTarget, throwIfAborted, ValidationError } from '@mediaferry/core';
import { abortableStore } from './abortable-store.js';
import { DEFAULT_BACKOFF } from './backoff.js';
import { MemoryBudget } from './memory-budget.js';
import { withRetries } from './part-uploader.js';
import { DEFAULT_STREAM_CHUNK_BYTES } from './streamed-part-body.js';
import { cleanUpUpload } from './upload-cleanup.js';
import type { UploadEngineOptions, UploadRequest, UploadResult } from './upload-engine.options.js';
import { type EngineSettings, UploadRun } from './upload-run.js';

const MiB = 1024 ** 2;

/**
 * Streams a `Source` into a `StorageTarget` as a multipart upload, checkpointing every part so any
 * engine in any process can resume it. Every part buffer comes from a memory budget (shared by a worker's
 * engines): a local file is streamed in chunks, other sources buffer whole parts (see `transferParts`).
 */
export class UploadEngine {
  readonly #s: EngineSettings;

  constructor(options: UploadEngineOptions) {
    const parallelism = options.parallelism ?? 4;
    if (!Number.isInteger(parallelism) || parallelism < 1 || parallelism > 64) {
      throw new ValidationError(`parallelism must be an integer in [1, 64], got ${parallelism}`);
    }
    const minRate = options.minPartBytesPerSecond ?? 128 * 1024;
    if (!(minRate > 0)) throw new ValidationError(`minPartBytesPerSecond must be positive, got ${minRate}`);
    const maxPartAttempts = options.maxPartAttempts ?? 6;
    if (!Number.isInteger(maxPartAttempts) || maxPartAttempts < 1) {
      throw new ValidationError(`maxPartAttempts must be a positive integer, got ${maxPartAttempts}`);
    }
    const chunkBytes = options.streamChunkBytes ?? DEFAULT_STREAM_CHUNK_BYTES;
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 16 * 1024) {
      throw new ValidationError(`streamChunkBytes must be an integer ≥ 16384, got ${chunkBytes}`);
    }
    this.#s = {
      store: options.checkpoints,
      budget: options.memory ?? new MemoryBudget(),
      chunkBytes,
      partSize: options.partSize ?? 8 * MiB,
      parallelism,
      maxSourceBytes: options.maxSourceBytes ?? 5 * 1024 ** 3,
      maxPartAttempts,
      partTimeoutMs: options.partTimeoutMs ?? 300_000,
      minPartBytesPerSecond: minRate,
      prepareLeaseMs: options.prepareLeaseMs ?? 120_000,
      backoff: options.backoff ?? DEFAULT_BACKOFF,
      retryPolicy: options.retryPolicy,
      ownerId: options.ownerId ?? randomUUID(),
      progressIntervalMs: options.progressIntervalMs ?? 1000,
      logger: options.logger,
      events: options.events,
      now: options.now ?? Date.now,
    };
  }

  /**
   * Uploads (or resumes) `request.uploadKey`. Rejects with a typed error: AbortError when the signal
   * aborts (the checkpoint stays for a later resume), OwnershipLostError when another engine took the
   * upload over or it was canceled, SourceChangedError (checkpoint dropped, multipart aborted, media
   * kept), IntegrityMismatchError, or the last retryable error once attempts ran out.
   */
  async run(request: UploadRequest): Promise<UploadResult> {
    return await new UploadRun(this.#s, request).execute();
  }

  /**
   * Cancels an upload wherever it runs: claims the checkpoint (a running engine stops at its next
   * checkpoint write with OwnershipLostError, and one that completed meanwhile reports
   * OwnershipLostError rather than success), reattaches for cleanup only (never creating a media),
   * aborts the multipart upload, deletes what the upload created (`StorageTarget.discard`: the VOD
   * video/audio media; a plain OSS object only when its CRC-64 proves it is this upload's, i.e. it
   * completed despite the cancel), then deletes the checkpoint. VOD image/attached media are not
   * deleted, and their multipart upload cannot be aborted from a target that did not create it. If a
   * step fails the checkpoint stays claimed by the cancel, so calling cancel again finishes it.
   * Nothing to do when there is no checkpoint.
   */
  async cancel(uploadKey: string, target: StorageTarget, signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    const owner = `cancel:${this.#s.ownerId}:${randomUUID()}`;
    const store = signal ? abortableStore(this.#s.store, signal) : this.#s.store;
    const cp = await store.claim(uploadKey, owner);
    if (!cp) return;
    const retry = {
      signal: signal ?? new AbortController().signal,
      maxAttempts: this.#s.maxPartAttempts,
      timeoutMs: this.#s.partTimeoutMs,
      backoff: this.#s.backoff,
      ...(this.#s.retryPolicy ? { policy: this.#s.retryPolicy } : {}),
    };
    const log = this.#s.logger;
    await cleanUpUpload(cp, target, {
      retrying: (what, op) => withRetries(what, op, retry),
      log: (level, fields, msg) => log?.[level]({ uploadKey, ...fields }, msg),
      removeCreated: true,
    });
    await store.delete(uploadKey, owner);
    log?.info({ uploadKey, uploadId: cp.uploadId }, 'upload canceled');
  }
}
