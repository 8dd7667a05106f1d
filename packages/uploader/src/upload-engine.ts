import { randomUUID } from 'node:crypto';
import { NoSuchUploadError, type StorageTarget, throwIfAborted, ValidationError } from '@mediaferry/core';
import { DEFAULT_BACKOFF } from './backoff.js';
import { withRetries } from './part-uploader.js';
import type { UploadEngineOptions, UploadRequest, UploadResult } from './upload-engine.options.js';
import { type EngineSettings, UploadRun } from './upload-run.js';

const MiB = 1024 ** 2;

/**
 * Streams a `Source` into a `StorageTarget` as a multipart upload, checkpointing every part so any
 * engine in any process can resume it. Memory per upload ≤ (parallelism + 1) × part size.
 */
export class UploadEngine {
  readonly #s: EngineSettings;

  constructor(options: UploadEngineOptions) {
    const parallelism = options.parallelism ?? 4;
    if (!Number.isInteger(parallelism) || parallelism < 1 || parallelism > 64) {
      throw new ValidationError(`parallelism must be an integer in [1, 64], got ${parallelism}`);
    }
    const maxPartAttempts = options.maxPartAttempts ?? 6;
    if (!Number.isInteger(maxPartAttempts) || maxPartAttempts < 1) {
      throw new ValidationError(`maxPartAttempts must be a positive integer, got ${maxPartAttempts}`);
    }
    this.#s = {
      store: options.checkpoints,
      partSize: options.partSize ?? 8 * MiB,
      parallelism,
      maxSourceBytes: options.maxSourceBytes ?? 5 * 1024 ** 3,
      maxPartAttempts,
      partTimeoutMs: options.partTimeoutMs ?? 300_000,
      backoff: options.backoff ?? DEFAULT_BACKOFF,
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
   * checkpoint write with OwnershipLostError), aborts the multipart upload, then deletes the checkpoint.
   * If aborting fails the checkpoint stays claimed by the cancel, so calling cancel again finishes it.
   * Nothing to do when there is no checkpoint.
   */
  async cancel(uploadKey: string, target: StorageTarget, signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    const owner = `cancel:${this.#s.ownerId}:${randomUUID()}`;
    const store = this.#s.store;
    const cp = await store.claim(uploadKey, owner);
    if (!cp) return;
    const { uploadId, destination } = cp;
    if (uploadId && destination) {
      const retry = {
        signal: signal ?? new AbortController().signal,
        maxAttempts: this.#s.maxPartAttempts,
        timeoutMs: this.#s.partTimeoutMs,
        backoff: this.#s.backoff,
      };
      await withRetries(
        'prepare for cancel',
        (s) =>
          target.prepare({
            existing: destination,
            fileName: cp.fileName,
            contentType: cp.contentType,
            size: cp.totalSize,
            signal: s,
          }),
        retry,
      );
      try {
        await withRetries('abort', (s) => target.abort(uploadId, s), retry);
      } catch (err) {
        if (!(err instanceof NoSuchUploadError)) throw err;
      }
    }
    await store.delete(uploadKey, owner);
    this.#s.logger?.info({ uploadKey, uploadId }, 'upload canceled');
  }
}
