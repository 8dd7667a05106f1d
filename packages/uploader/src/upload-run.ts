import { randomUUID } from 'node:crypto';
import {
  AbortError,
  type CompletedObject,
  IntegrityMismatchError,
  NoSuchUploadError,
  OwnershipLostError,
  type RetryPolicy,
  SourceChangedError,
  type SourceStat,
  SourceTooLargeError,
  throwIfAborted,
  type UploadDestination,
} from '@mediaferry/core';
import { abortableStore } from './abortable-store.js';
import type { BackoffOptions } from './backoff.js';
import { claimOrCreate } from './checkpoint-claim.js';
import type { Checkpoint, CheckpointPart, CheckpointStore } from './checkpoint-store.js';
import type { MemoryBudget } from './memory-budget.js';
import { partCount, planParts } from './part-planner.js';
import type { RetryOptions, RetryReason } from './part-uploader.js';
import { withRetries } from './part-uploader.js';
import { ProgressMeter } from './progress-meter.js';
import { combineCrc, coversSource, reconcile } from './resume.js';
import { RunDestination, sameDestination } from './run-destination.js';
import { putWholeSource } from './single-put.js';
import { needsContentCheck, sameSource } from './source-identity.js';
import { partMemory, transferParts } from './transfer.js';
import { cleanUpUpload } from './upload-cleanup.js';
import type {
  EngineEventListener,
  EngineLogger,
  UploadRequest,
  UploadResult,
} from './upload-engine.options.js';

/** Engine options with defaults applied. */
export interface EngineSettings {
  store: CheckpointStore;
  budget: MemoryBudget;
  chunkBytes: number;
  partSize: number;
  parallelism: number;
  maxSourceBytes: number;
  maxPartAttempts: number;
  partTimeoutMs: number;
  minPartBytesPerSecond: number;
  prepareLeaseMs: number;
  backoff: BackoffOptions;
  retryPolicy: RetryPolicy | undefined;
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
  /** The checkpoint store, every call of it ending when the run's signal aborts. */
  readonly #store: CheckpointStore;
  /** This run's owner token: the engine id plus a random suffix, so two runs never share one. */
  readonly #owner: string;
  #partRetries = 0;
  #uploadedBytes = 0;
  /** The transfer started over from byte 0 once already (see `#restartFromZero`). */
  #restarted = false;
  /** The destination in use, replaced when the target has to create a new one (see `#reprepare`). */
  readonly #dest: RunDestination;

  constructor(settings: EngineSettings, request: UploadRequest) {
    this.#s = settings;
    this.#req = request;
    this.#signal = request.signal ?? new AbortController().signal;
    this.#store = abortableStore(settings.store, this.#signal);
    this.#owner = `${settings.ownerId}:${randomUUID()}`;
    this.#dest = new RunDestination({
      target: request.target,
      store: this.#store,
      uploadKey: request.uploadKey,
      owner: this.#owner,
      signal: this.#signal,
      retrying: (what, op) => this.#retrying(what, op),
      log: (level, fields, msg) => this.#log(level, fields, msg),
    });
  }

  async execute(): Promise<UploadResult> {
    const { source, target, uploadKey } = this.#req;
    const store = this.#store;
    const signal = this.#signal;
    throwIfAborted(signal);
    const stat = await source.stat(signal);
    this.#assertFitsBudget(stat);
    let cp = await claimOrCreate({
      store,
      uploadKey,
      owner: this.#owner,
      leaseMs: this.#s.prepareLeaseMs,
      signal,
      now: this.#s.now,
      initial: (now) => ({
        fingerprint: stat.fingerprint,
        totalSize: stat.size,
        fileName: stat.fileName,
        contentType: stat.contentType,
        plan: planParts(stat.size, { partSize: this.#s.partSize, maxSourceBytes: this.#s.maxSourceBytes }),
        destination: null,
        uploadId: null,
        createdAt: now,
      }),
      log: (level, fields, msg) => this.#log(level, fields, msg),
    });
    const resumed = cp.resumed;
    if (resumed && !sameSource(cp, stat)) {
      await this.#discard(cp);
      throw new SourceChangedError(`source changed since the upload started (${source.description})`);
    }

    // A checkpoint found without destination, or a failed attempt of ours: a Create… may have reached
    // the service unseen, so the target looks its media up first (review F4).
    let createAttempted = resumed && !cp.destination;
    const destination = await this.#retrying('prepare', (s) => {
      const options = {
        ...(cp.destination ? { existing: cp.destination } : { createAttempted }),
        uploadKey,
        fileName: cp.fileName,
        contentType: cp.contentType,
        size: cp.totalSize,
        signal: s,
      };
      createAttempted = true;
      return target.prepare(options);
    }).catch((err: unknown) => {
      // No media is being created any more: the next run need not wait for this one's lease. Not tied
      // to the signal (a shutdown should release it too); owner-conditional, so harmless when lost.
      if (!cp.destination)
        this.#s.store.update(uploadKey, this.#owner, { preparingSince: null }).catch(() => {});
      throw err;
    });
    if (!cp.destination) {
      try {
        await store.update(uploadKey, this.#owner, { destination, preparingSince: null });
      } catch (err) {
        // Slower than the preparing lease (or canceled): the upload is not ours any more, so nobody
        // would ever use or delete the media just created. Not tied to the signal (a cancel aborts it).
        // A findable media is left alone: the new owner finds it and may be uploading into it.
        if (err instanceof OwnershipLostError && !target.isFindable?.(destination))
          await target.discard?.(destination).catch(() => {});
        throw err;
      }
      cp = { ...cp, destination };
    } else if (!sameDestination(cp.destination, destination)) {
      // The target had to replace the media (VOD image/attached credentials cannot be refreshed, and
      // this process never had the first one): the old multipart upload belongs to another object.
      cp = { ...(await this.#dest.replace(cp, cp.destination, destination)), resumed };
    }
    this.#dest.current = destination;

    if (!cp.uploadId && this.#singlePut(cp)) return await this.#putWhole(cp, resumed);

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
        const done = await this.#completedElsewhere(cp, destination, resumed);
        if (done) return done;
        this.#log('warn', { uploadId }, 'multipart upload is gone; starting a new one for the same media');
        uploadId = null;
      }
    }
    if (!uploadId) {
      // An earlier attempt may have started one and died before recording it: abort it first.
      if (resumed && !cp.uploadId) await this.#dest.abortUnrecorded(cp);
      uploadId = await this.#newMultipart();
    }

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
      // Whether the last checkpoint write (owner-conditional) came just before complete: the transfer
      // ends with one (its last part recorded), and so does the streamParts update below.
      let ownerJustChecked = false;
      if (!coversSource(cp.plan, kept, cp.streamParts)) {
        uploadId = await this.#transfer(cp, stat, uploadId, parts, meter);
        ownerJustChecked = true;
      }
      const ordered = [...parts.values()].sort((a, b) => a.partNumber - b.partNumber);
      if (cp.plan.kind === 'growing' && !coversSource(cp.plan, ordered, cp.streamParts)) {
        // The stream ended exactly on a part boundary: record its end, or a resume after a crash
        // between complete and dropping the checkpoint could not tell the object is complete.
        await this.#store.update(uploadKey, this.#owner, { streamParts: ordered.length });
        ownerJustChecked = true;
      }
      const size = ordered.reduce((n, p) => n + p.size, 0);
      meter.setTotals(size, ordered.length);
      const result = await this.#complete(uploadId, ordered, this.#dest.current ?? destination, {
        resumed,
        skippedBytes,
        ownerJustChecked,
      });
      return result;
    } finally {
      meter.stop();
    }
  }

  async #newMultipart(): Promise<string> {
    const { target, uploadKey } = this.#req;
    const uploadId = await this.#retrying('init multipart', (s) => target.initMultipart(s));
    try {
      await this.#store.update(uploadKey, this.#owner, { uploadId }, { clearParts: true });
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
  ): Promise<string> {
    const { uploadKey } = this.#req;
    try {
      await transferParts({
        ...this.#retryOptions(this.#signal),
        source: this.#req.source,
        target: this.#req.target,
        store: this.#store,
        uploadKey,
        owner: this.#owner,
        uploadId,
        plan: cp.plan,
        fingerprint: cp.fingerprint,
        seekable: stat.seekable,
        verifyContent: needsContentCheck(cp.fingerprint, stat),
        parallelism: this.#s.parallelism,
        budget: this.#s.budget,
        chunkBytes: this.#s.chunkBytes,
        parts,
        meter,
        events: this.#s.events,
        onUploaded: (bytes) => {
          this.#uploadedBytes += bytes;
        },
      });
      return uploadId;
    } catch (err) {
      if (this.#signal.aborted) throw new AbortError('upload aborted', { cause: this.#signal.reason });
      // Canceled or taken over (checkpoint gone or claimed) explains any failure: a vanished upload, a
      // deleted media's revoked credential... → OwnershipLostError. Otherwise the upload vanished or was
      // completed by a competing engine, which the next attempt sorts out on resume.
      if (!(err instanceof OwnershipLostError)) {
        await this.#store.assertOwner(uploadKey, this.#owner).catch((e: unknown) => {
          if (e instanceof OwnershipLostError) throw e;
        });
      }
      if (this.#dest.canReplace(err)) {
        // An image/attached credential ran out mid-upload: only a new media helps, now, in this run.
        return await this.#reprepare(cp, stat, uploadId, parts, meter, err);
      }
      if (err instanceof SourceChangedError && err.details?.recordedPart !== undefined && !this.#restarted) {
        // A source without a validator gave other bytes than the parts kept from an earlier attempt:
        // those parts are void, the content as it is now is not. Start again from byte 0 (same media).
        return await this.#restartFromZero(cp, stat, uploadId, parts, meter);
      }
      if (err instanceof NoSuchUploadError && !this.#restarted) {
        // Still ours, yet the upload vanished (an OSS lifecycle rule, an operator): its parts are gone.
        // Start over now rather than spend a job attempt on it.
        this.#log('warn', { uploadId }, 'multipart upload vanished mid-transfer');
        return await this.#restartFromZero(cp, stat, uploadId, parts, meter);
      }
      if (err instanceof SourceChangedError || err instanceof SourceTooLargeError) {
        // Can never succeed: drop the checkpoint and the multipart upload (the media stays).
        await this.#discard({ ...cp, uploadId });
        throw err;
      }
      throw err;
    }
  }

  /** Whether the source goes up in one PutObject: at most one part, and a target that can. */
  #singlePut(cp: Checkpoint): boolean {
    return (
      this.#req.target.putObject !== undefined &&
      cp.plan.kind === 'fixed' &&
      cp.plan.totalSize <= cp.plan.partSize
    );
  }

  /** The whole source in one PutObject (see `putWholeSource`); a credential expiry prepares again. */
  async #putWhole(initial: Checkpoint, resumed: boolean): Promise<UploadResult> {
    const { target, uploadKey, source } = this.#req;
    const putObject = target.putObject?.bind(target);
    if (!putObject) throw new Error('putWhole needs a target with putObject');
    let cp = initial;
    const meter = new ProgressMeter({
      totalBytes: cp.totalSize,
      partsTotal: 1,
      intervalMs: this.#s.progressIntervalMs,
      now: this.#s.now,
      ...(this.#req.onProgress ? { onProgress: this.#req.onProgress } : {}),
    });
    meter.start();
    try {
      for (;;) {
        try {
          const { completed, crc } = await putWholeSource({
            source,
            putObject,
            fingerprint: cp.fingerprint,
            size: cp.totalSize ?? 0,
            retrying: (what, op) => this.#retrying(what, op),
            meter,
            events: this.#s.events,
            now: this.#s.now,
          });
          this.#uploadedBytes += cp.totalSize ?? 0;
          return await this.#finish(this.#dest.current!, {
            size: cp.totalSize ?? 0,
            crc,
            etag: completed.etag,
            resumed,
            skippedBytes: 0,
          });
        } catch (err) {
          if (this.#signal.aborted) throw new AbortError('upload aborted', { cause: this.#signal.reason });
          if (err instanceof SourceChangedError) {
            await this.#discard(cp);
            throw err;
          }
          if (!this.#dest.canReplace(err)) throw err;
          await this.#store.assertOwner(uploadKey, this.#owner);
          cp = await this.#dest.prepareAgain(cp, err);
          meter.reset(1);
        }
      }
    } finally {
      meter.stop();
    }
  }

  /**
   * The target's credential expired and cannot be refreshed (VOD image/attached media): prepare again,
   * which gives a new media; the old one is cleaned up and the whole source goes into the new one.
   */
  async #reprepare(
    cp: Checkpoint,
    stat: SourceStat,
    oldUploadId: string,
    parts: Map<number, CheckpointPart>,
    meter: ProgressMeter,
    cause: unknown,
  ): Promise<string> {
    const next = await this.#dest.prepareAgain({ ...cp, uploadId: oldUploadId }, cause);
    meter.skipped(-parts.size, -[...parts.values()].reduce((n, p) => n + p.size, 0));
    parts.clear();
    const uploadId = await this.#newMultipart();
    return await this.#transfer(next, stat, uploadId, parts, meter);
  }

  /**
   * The parts kept from earlier attempts are void (the source gave other bytes): a new multipart upload
   * into the same media, the old one aborted, and the whole source transferred again.
   */
  async #restartFromZero(
    cp: Checkpoint,
    stat: SourceStat,
    oldUploadId: string,
    parts: Map<number, CheckpointPart>,
    meter: ProgressMeter,
  ): Promise<string> {
    this.#restarted = true;
    this.#log('warn', { keptParts: parts.size }, 'the parts uploaded so far are void; starting over');
    const uploadId = await this.#newMultipart();
    await this.#retrying('abort', (s) => this.#req.target.abort(oldUploadId, s)).catch((err: unknown) => {
      this.#log('warn', { uploadId: oldUploadId, err: describe(err) }, 'could not abort the void upload');
    });
    // Negative: those parts no longer count as done (progress itself never goes backwards).
    meter.skipped(-parts.size, -[...parts.values()].reduce((n, p) => n + p.size, 0));
    parts.clear();
    return await this.#transfer(cp, stat, uploadId, parts, meter);
  }

  async #complete(
    uploadId: string,
    ordered: CheckpointPart[],
    destination: UploadDestination,
    run: { resumed: boolean; skippedBytes: number; ownerJustChecked: boolean },
  ): Promise<UploadResult> {
    const { resumed, skippedBytes } = run;
    const { target, uploadKey } = this.#req;
    // The first attempt may skip the ownership check when a write just proved it (one Redis round
    // trip per job): a claim can land after either check, so the race is the same; `#finish` (an
    // owner-conditional delete) is what keeps a claimed upload from being reported as ours.
    let checkOwner = !run.ownerJustChecked;
    const crc = combineCrc(ordered).toString();
    const size = ordered.reduce((n, p) => n + p.size, 0);
    let completed: CompletedObject;
    try {
      const list = ordered.map(({ partNumber, etag, size: s }) => ({ partNumber, etag, size: s }));
      completed = await this.#retrying('complete', async (s) => {
        // Before every retry: a cancel may have claimed the upload during a long one.
        if (checkOwner) await this.#store.assertOwner(uploadKey, this.#owner);
        checkOwner = true;
        return await target.complete(uploadId, list, s);
      });
    } catch (err) {
      if (!(err instanceof NoSuchUploadError)) throw err;
      // Aborted by a cancel that claimed the upload (perhaps just before an unchecked first attempt).
      await this.#store.assertOwner(uploadKey, this.#owner);
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
    cp: Checkpoint,
    destination: UploadDestination,
    resumed: boolean,
  ): Promise<UploadResult | null> {
    const recorded = cp.parts;
    if (!coversSource(cp.plan, recorded, cp.streamParts)) return null;
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
    const { target, uploadKey } = this.#req;
    const store = this.#store;
    if (target.finalize) {
      try {
        await this.#retrying('finalize', (s) => target.finalize!(s));
      } catch (err) {
        await store.assertOwner(uploadKey, this.#owner); // a cancel deleting the media wins
        throw err;
      }
    }
    if (!(await store.delete(uploadKey, this.#owner))) {
      // Claimed after the object completed: by a cancel (which deletes it) or by another engine (which
      // finds it complete). Either way this run does not report the success.
      throw new OwnershipLostError(`upload ${uploadKey} was canceled or taken over as it completed`);
    }
    const refreshes = target.credentialRefreshes;
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
   * the multipart upload, reattaching for cleanup only (never a new media); the media itself is kept.
   */
  async #discard(cp: Checkpoint): Promise<void> {
    const { target, uploadKey } = this.#req;
    if (!(await this.#store.delete(uploadKey, this.#owner))) return;
    try {
      await cleanUpUpload(cp, target, {
        retrying: (what, op) => this.#retrying(what, op),
        log: (level, fields, msg) => this.#log(level, fields, msg),
        removeCreated: false,
      });
    } catch (err) {
      this.#log('warn', { err: describe(err) }, 'could not abort the multipart upload');
    }
  }

  /** A part that could never get its memory is refused before anything is created or read. */
  #assertFitsBudget(stat: SourceStat): void {
    const plan = planParts(stat.size, { partSize: this.#s.partSize, maxSourceBytes: this.#s.maxSourceBytes });
    const verifyContent = needsContentCheck(stat.fingerprint, stat);
    const need = partMemory({
      source: this.#req.source,
      plan,
      verifyContent,
      chunkBytes: this.#s.chunkBytes,
    });
    this.#s.budget.assertFits(need, `a part of ${this.#req.source.description}`);
  }

  #retryOptions(signal: AbortSignal): RetryOptions {
    return {
      signal,
      maxAttempts: this.#s.maxPartAttempts,
      timeoutMs: this.#s.partTimeoutMs,
      minBytesPerSecond: this.#s.minPartBytesPerSecond,
      backoff: this.#s.backoff,
      ...(this.#s.retryPolicy ? { policy: this.#s.retryPolicy } : {}),
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

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
