import { randomUUID } from 'node:crypto';
import {
  AbortError,
  type CompletedObject,
  IntegrityMismatchError,
  NoSuchUploadError,
  OwnershipLostError,
  SourceChangedError,
  type SourceStat,
  SourceTooLargeError,
  throwIfAborted,
  type UploadDestination,
} from '@mediaferry/core';
import type { BackoffOptions } from './backoff.js';
import type { Checkpoint, CheckpointPart, CheckpointStore } from './checkpoint-store.js';
import { type PartPlan, partCount, planParts } from './part-planner.js';
import type { RetryOptions, RetryReason } from './part-uploader.js';
import { withRetries } from './part-uploader.js';
import { ProgressMeter } from './progress-meter.js';
import { combineCrc, coversSource, reconcile } from './resume.js';
import { transferParts } from './transfer.js';
import type {
  EngineEventListener,
  EngineLogger,
  UploadRequest,
  UploadResult,
} from './upload-engine.options.js';

/** Engine options with defaults applied. */
export interface EngineSettings {
  store: CheckpointStore;
  partSize: number;
  parallelism: number;
  maxSourceBytes: number;
  maxPartAttempts: number;
  partTimeoutMs: number;
  backoff: BackoffOptions;
  ownerId: string;
  progressIntervalMs: number;
  logger: EngineLogger | undefined;
  events: EngineEventListener | undefined;
  now: () => number;
}

/**
 * One `UploadEngine.run()`: claim or create the checkpoint, reattach to (or create) the media and the
 * multipart upload, reconcile with the server, transfer the missing parts, complete and verify.
 */
export class UploadRun {
  readonly #s: EngineSettings;
  readonly #req: UploadRequest;
  readonly #signal: AbortSignal;
  /** This run's owner token: the engine id plus a random suffix, so two runs never share one. */
  readonly #owner: string;
  #partRetries = 0;
  #uploadedBytes = 0;

  constructor(settings: EngineSettings, request: UploadRequest) {
    this.#s = settings;
    this.#req = request;
    this.#signal = request.signal ?? new AbortController().signal;
    this.#owner = `${settings.ownerId}:${randomUUID()}`;
  }

  async execute(): Promise<UploadResult> {
    const { source, target, uploadKey } = this.#req;
    const store = this.#s.store;
    const signal = this.#signal;
    throwIfAborted(signal);
    const stat = await source.stat(signal);
    let cp = await this.#claimOrCreate(stat);
    const resumed = cp.resumed;
    if (resumed && (cp.fingerprint !== stat.fingerprint || cp.totalSize !== stat.size)) {
      await this.#discard(cp, false);
      throw new SourceChangedError(`source changed since the upload started (${source.description})`);
    }

    const destination = await this.#retrying('prepare', (s) =>
      target.prepare({
        ...(cp.destination ? { existing: cp.destination } : {}),
        fileName: cp.fileName,
        contentType: cp.contentType,
        size: cp.totalSize,
        signal: s,
      }),
    );
    if (!cp.destination) {
      await store.update(uploadKey, this.#owner, { destination });
      cp = { ...cp, destination };
    } else if (!sameObject(cp.destination, destination)) {
      // The target had to replace the media (e.g. VOD image credentials cannot be refreshed): the old
      // multipart upload belongs to another object, so start over into the new one.
      this.#log(
        'warn',
        { from: cp.destination.objectKey, to: destination.objectKey },
        'destination replaced',
      );
      await store.update(uploadKey, this.#owner, { destination, uploadId: null }, { clearParts: true });
      cp = { ...cp, destination, uploadId: null, parts: [] };
    }

    let uploadId = cp.uploadId;
    let kept: CheckpointPart[] = [];
    if (uploadId) {
      const existingId = uploadId;
      try {
        const server = await this.#retrying('list parts', (s) => target.listParts(existingId, s));
        const r = reconcile(cp.plan, cp.parts, server);
        kept = r.kept;
        if (r.dropped.length > 0 || r.unrecorded.length > 0) {
          this.#log('info', { dropped: r.dropped, unrecorded: r.unrecorded }, 'parts to upload again');
        }
      } catch (err) {
        if (!(err instanceof NoSuchUploadError)) throw err;
        const done = await this.#completedElsewhere(cp.plan, cp.parts, destination, resumed);
        if (done) return done;
        this.#log('warn', { uploadId }, 'multipart upload is gone; starting a new one for the same media');
        uploadId = null;
      }
    }
    if (!uploadId) uploadId = await this.#newMultipart();

    const skippedBytes = kept.reduce((n, p) => n + p.size, 0);
    if (resumed) {
      this.#s.events?.onResume?.({ skippedBytes });
      this.#log('info', { skippedBytes, skippedParts: kept.length }, 'resuming upload');
    }
    const meter = new ProgressMeter({
      totalBytes: cp.totalSize,
      partsTotal: partCount(cp.plan),
      intervalMs: this.#s.progressIntervalMs,
      now: this.#s.now,
      ...(this.#req.onProgress ? { onProgress: this.#req.onProgress } : {}),
    });
    meter.skipped(kept.length, skippedBytes);
    meter.start();
    try {
      const parts = new Map(kept.map((p) => [p.partNumber, p]));
      if (!coversSource(cp.plan, kept)) await this.#transfer(cp, stat, uploadId, parts, meter);
      const ordered = [...parts.values()].sort((a, b) => a.partNumber - b.partNumber);
      const size = ordered.reduce((n, p) => n + p.size, 0);
      meter.setTotals(size, ordered.length);
      const result = await this.#complete(uploadId, ordered, destination, resumed, skippedBytes);
      return result;
    } finally {
      meter.stop();
    }
  }

  /** Claims the checkpoint (this run becomes the owner) or creates it. */
  async #claimOrCreate(stat: SourceStat): Promise<Checkpoint & { resumed: boolean }> {
    const { uploadKey } = this.#req;
    const store = this.#s.store;
    const existing = await store.claim(uploadKey, this.#owner);
    if (existing) return { ...existing, resumed: true };
    const state = {
      fingerprint: stat.fingerprint,
      totalSize: stat.size,
      fileName: stat.fileName,
      contentType: stat.contentType,
      plan: planParts(stat.size, { partSize: this.#s.partSize, maxSourceBytes: this.#s.maxSourceBytes }),
      destination: null,
      uploadId: null,
      createdAt: this.#s.now(),
    };
    if (await store.create(uploadKey, this.#owner, state)) {
      return { ...state, uploadKey, owner: this.#owner, parts: [], resumed: false };
    }
    // Another engine created it a moment ago: take it over like any resume.
    const raced = await store.claim(uploadKey, this.#owner);
    if (!raced) throw new OwnershipLostError(`checkpoint ${uploadKey} vanished while starting`);
    return { ...raced, resumed: true };
  }

  async #newMultipart(): Promise<string> {
    const { target, uploadKey } = this.#req;
    const uploadId = await this.#retrying('init multipart', (s) => target.initMultipart(s));
    try {
      await this.#s.store.update(uploadKey, this.#owner, { uploadId }, { clearParts: true });
    } catch (err) {
      // Nobody else knows this upload id: abort it rather than leave it behind.
      await target.abort(uploadId).catch(() => {});
      throw err;
    }
    return uploadId;
  }

  async #transfer(
    cp: Checkpoint,
    stat: SourceStat,
    uploadId: string,
    parts: Map<number, CheckpointPart>,
    meter: ProgressMeter,
  ): Promise<void> {
    const { uploadKey } = this.#req;
    try {
      await transferParts({
        ...this.#retryOptions(this.#signal),
        source: this.#req.source,
        target: this.#req.target,
        store: this.#s.store,
        uploadKey,
        owner: this.#owner,
        uploadId,
        plan: cp.plan,
        fingerprint: cp.fingerprint,
        seekable: stat.seekable,
        parallelism: this.#s.parallelism,
        parts,
        meter,
        events: this.#s.events,
        onUploaded: (bytes) => {
          this.#uploadedBytes += bytes;
        },
      });
    } catch (err) {
      if (this.#signal.aborted) throw new AbortError('upload aborted', { cause: this.#signal.reason });
      if (err instanceof SourceChangedError || err instanceof SourceTooLargeError) {
        // Can never succeed: drop the checkpoint and the multipart upload (the media stays).
        await this.#discard({ ...cp, uploadId }, true);
        throw err;
      }
      if (err instanceof NoSuchUploadError) {
        // Canceled (the checkpoint is gone or claimed) → OwnershipLostError; otherwise the upload vanished
        // or was completed by a competing engine, which the next attempt sorts out on resume.
        await this.#s.store.assertOwner(uploadKey, this.#owner);
      }
      throw err;
    }
  }

  async #complete(
    uploadId: string,
    ordered: CheckpointPart[],
    destination: UploadDestination,
    resumed: boolean,
    skippedBytes: number,
  ): Promise<UploadResult> {
    const { target, uploadKey } = this.#req;
    const crc = combineCrc(ordered).toString();
    const size = ordered.reduce((n, p) => n + p.size, 0);
    await this.#s.store.assertOwner(uploadKey, this.#owner);
    let completed: CompletedObject;
    try {
      const list = ordered.map(({ partNumber, etag, size: s }) => ({ partNumber, etag, size: s }));
      completed = await this.#retrying('complete', (s) => target.complete(uploadId, list, s));
    } catch (err) {
      if (!(err instanceof NoSuchUploadError)) throw err;
      // Already completed (by us before a lost response, or by a competing engine): fine if it is ours.
      const head = await this.#retrying('head', (s) => target.head(s));
      if (!head || head.crc64 !== crc || (head.size !== null && head.size !== size)) throw err;
      completed = head;
    }
    const serverCrc = completed.crc64 ?? (await this.#retrying('head', (s) => target.head(s)))?.crc64 ?? null;
    if (serverCrc === null) {
      this.#log('warn', { crc64: crc }, 'storage reported no CRC-64: object integrity not verified');
    } else if (serverCrc !== crc) {
      // The checkpoint stays: it holds the media, so a retry re-uploads into it instead of a new one.
      throw new IntegrityMismatchError(`object CRC-64 ${serverCrc} differs from the source's ${crc}`, {
        details: { expected: crc, actual: serverCrc },
      });
    }
    return await this.#finish(destination, { size, crc, etag: completed.etag, resumed, skippedBytes });
  }

  /** NoSuchUpload on resume: success if the object is already complete and matches the checkpoint. */
  async #completedElsewhere(
    plan: PartPlan,
    recorded: CheckpointPart[],
    destination: UploadDestination,
    resumed: boolean,
  ): Promise<UploadResult | null> {
    if (!coversSource(plan, recorded)) return null;
    const head = await this.#retrying('head', (s) => this.#req.target.head(s));
    const crc = combineCrc(recorded).toString();
    const size = recorded.reduce((n, p) => n + p.size, 0);
    if (!head || head.crc64 !== crc || (head.size !== null && head.size !== size)) return null;
    this.#log('info', { crc64: crc }, 'upload was already completed; object verified');
    return await this.#finish(destination, { size, crc, etag: head.etag, resumed, skippedBytes: size });
  }

  async #finish(
    destination: UploadDestination,
    r: { size: number; crc: string; etag: string; resumed: boolean; skippedBytes: number },
  ): Promise<UploadResult> {
    const target = this.#req.target;
    if (target.finalize) await this.#retrying('finalize', (s) => target.finalize!(s));
    await this.#s.store.delete(this.#req.uploadKey, this.#owner);
    const refreshes = (target as { credentialRefreshes?: unknown }).credentialRefreshes;
    return {
      destination,
      size: r.size,
      crc64: r.crc,
      etag: r.etag,
      resumed: r.resumed,
      skippedBytes: r.skippedBytes,
      uploadedBytes: this.#uploadedBytes,
      partRetries: this.#partRetries,
      ...(typeof refreshes === 'number' ? { credentialRefreshes: refreshes } : {}),
    };
  }

  /**
   * The source changed: this upload can never resume. Drop the checkpoint (if still ours) and abort
   * the multipart upload; the media itself is kept.
   */
  async #discard(cp: Checkpoint, prepared: boolean): Promise<void> {
    const { target, uploadKey } = this.#req;
    if (!(await this.#s.store.delete(uploadKey, this.#owner))) return;
    const uploadId = cp.uploadId;
    if (!uploadId || !cp.destination) return;
    try {
      if (!prepared) {
        await target.prepare({
          existing: cp.destination,
          fileName: cp.fileName,
          contentType: cp.contentType,
          size: cp.totalSize,
          signal: this.#signal,
        });
      }
      await this.#retrying('abort', (s) => target.abort(uploadId, s));
    } catch (err) {
      if (!(err instanceof NoSuchUploadError))
        this.#log('warn', { err }, 'could not abort the multipart upload');
    }
  }

  #retryOptions(signal: AbortSignal): RetryOptions {
    return {
      signal,
      maxAttempts: this.#s.maxPartAttempts,
      timeoutMs: this.#s.partTimeoutMs,
      backoff: this.#s.backoff,
      onRetry: (reason: RetryReason, err: unknown, attempt: number, delayMs: number) => {
        this.#partRetries++;
        this.#s.events?.onPartRetry?.({ reason });
        this.#log('warn', { reason, attempt, delayMs, err: describe(err) }, 'retrying');
      },
    };
  }

  #retrying<T>(what: string, op: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return withRetries(what, op, this.#retryOptions(this.#signal));
  }

  #log(level: keyof EngineLogger, fields: object, msg: string): void {
    this.#s.logger?.[level]({ uploadKey: this.#req.uploadKey, ...fields }, msg);
  }
}

function sameObject(a: UploadDestination, b: UploadDestination): boolean {
  return a.mediaId === b.mediaId && a.bucket === b.bucket && a.objectKey === b.objectKey;
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
