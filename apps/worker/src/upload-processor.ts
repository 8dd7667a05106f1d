import { createStorageTarget, type StorageTargetDeps } from '@mediaferry/aliyun';
import {
  classify,
  type JobErrorView,
  type JobProgress,
  type JobResult,
  OwnershipLostError,
  type StorageTarget,
} from '@mediaferry/core';
import { isTerminal, type JobRecord, type JobStore, toJobView, type UploadJobData } from '@mediaferry/queue';
import { createSource, type SourcePolicy } from '@mediaferry/sources';
import type { Logger, TrackedJob, WorkerMetrics } from '@mediaferry/telemetry';
import {
  type CheckpointStore,
  type MemoryBudget,
  UploadEngine,
  type UploadResult,
} from '@mediaferry/uploader';
import type { WebhookDispatcher } from '@mediaferry/webhooks';
import { type Job, UnrecoverableError, WaitingError } from 'bullmq';
import { ProgressReporter } from './progress-reporter.js';
import type { RunningJob, RunningJobs } from './running-jobs.js';

export interface UploadProcessorDeps {
  store: JobStore;
  checkpoints: CheckpointStore;
  sourcePolicy: SourcePolicy;
  targetDeps: StorageTargetDeps;
  metrics: WorkerMetrics;
  logger: Logger;
  running: RunningJobs;
  /** Enqueues job webhooks; none configured means no webhooks. */
  webhooks: Pick<WebhookDispatcher, 'enqueue'> | undefined;
  /** `memory`: the worker's budget, shared by every job's engine. */
  upload: { partSize: number; parallelism: number; maxSourceBytes: number; memory: MemoryBudget };
  progressIntervalMs: number;
}

/** BullMQ's reason for a job whose worker died (lost its lock) more than `maxStalledCount` times. */
const STALLED_LIMIT_REASON = 'job stalled more than allowable limit';

/** What a processed BullMQ job returns (its `returnvalue`). */
export interface UploadOutcome {
  jobId: string;
  outcome: 'succeeded' | 'canceled' | 'already-finished' | 'missing';
}

type UploadJob = Job<UploadJobData, UploadOutcome, string>;

function toJobResult(r: UploadResult): JobResult {
  const d = r.destination;
  return {
    mediaId: d.mediaId,
    mediaType: d.mediaType,
    bucket: d.bucket,
    objectKey: d.objectKey,
    size: r.size,
    crc64: r.crc64,
    url: d.url,
  };
}

function finalProgress(r: UploadResult, last: JobProgress | undefined): JobProgress {
  const parts = last?.partsTotal ?? last?.partsDone ?? 0;
  return {
    uploadedBytes: r.size,
    totalBytes: r.size,
    percent: 100,
    partsDone: parts,
    partsTotal: parts,
    bytesPerSecond: last?.bytesPerSecond ?? 0,
  };
}

/**
 * Runs one upload job: the record decides (a canceled or finished job is not uploaded again), the
 * engine uploads or resumes under the job id, and the ending depends on what stopped it:
 * - success → `succeeded` (the one completion; a late cancel wins and the result is dropped);
 * - cancel → multipart aborted and checkpoint dropped, BullMQ job completed;
 * - shutdown → record back to `queued`, BullMQ job back to wait with no attempt spent;
 * - lost lock / ownership → nothing touched (another worker owns the job now);
 * - fatal error → `failed` + UnrecoverableError; retryable → record keeps the error, BullMQ retries.
 * Every record write of a run carries its BullMQ lock token (the record's run token, see
 * `JobStore.start`), so a run that lost the job to another worker cannot move the new run's record.
 * Terminal statuses enqueue the webhook; an enqueue failure fails the attempt so BullMQ tries again,
 * and the retry (seeing a finished record) only re-sends the webhook (deliveries are deduplicated).
 */
export class UploadProcessor {
  constructor(private readonly deps: UploadProcessorDeps) {}

  readonly process = async (job: UploadJob, token?: string): Promise<UploadOutcome> => {
    const jobId = job.data.jobId;
    const attempt = job.attemptsMade + 1;
    const log = this.deps.logger.child({ jobId, attempt });
    const run = this.deps.running.add(jobId);
    try {
      if (run.reason === 'shutdown') {
        // Fetched while the worker was closing: straight back to the queue, nothing started.
        await this.handBack(job, token, log);
        throw new WaitingError();
      }
      const started = await this.deps.store.start(jobId, attempt, token);
      if (!started.ok) return await this.notRunnable(jobId, started.record, log);
      log.info(
        { source: started.record.spec.source.type, target: started.record.spec.target.type },
        'job started',
      );
      return await this.run(job, token, started.record, run, log);
    } finally {
      this.deps.running.delete(jobId, run);
    }
  };

  /**
   * BullMQ failed a job for good without the processor recording it: the job stalled more than
   * `maxStalledCount` times (BullMQ fails it on the next pick-up without running it), or the attempt
   * died before it could write the record. The record would stay `running` or `queued` forever;
   * this makes it `failed` (and sends the webhook). A record already finished is left alone.
   */
  readonly settleFailed = async (job: UploadJob, err: Error): Promise<void> => {
    const jobId = job.data.jobId;
    const record = await this.deps.store.get(jobId);
    if (!record || isTerminal(record.status)) return;
    const error: JobErrorView =
      job.failedReason === STALLED_LIMIT_REASON || err.message === STALLED_LIMIT_REASON
        ? {
            code: 'JOB_STALLED',
            message: 'The job was interrupted too many times (its worker stopped or lost its lock)',
            retryable: false,
          }
        : { ...classify(err), retryable: false };
    const failed = await this.deps.store.fail(jobId, error, { final: true });
    if (!failed.ok) return;
    const { spec, startedAt, finishedAt } = failed.record;
    this.deps.metrics.jobFinished(
      { sourceType: spec.source.type, mediaType: spec.target.type === 'oss' ? null : spec.media.type },
      {
        status: 'failed',
        errorCode: error.code,
        durationSeconds: startedAt !== null && finishedAt !== null ? (finishedAt - startedAt) / 1000 : 0,
      },
    );
    this.deps.logger.error({ jobId, err: error }, 'job failed by the queue; record settled');
    await this.notify(failed.record);
  };

  private async run(
    job: UploadJob,
    token: string | undefined,
    record: JobRecord,
    run: RunningJob,
    log: Logger,
  ): Promise<UploadOutcome> {
    const { spec, id } = record;
    const tracked = this.deps.metrics.trackJob({
      sourceType: spec.source.type,
      mediaType: spec.target.type === 'oss' ? null : spec.media.type,
    });
    const engine = this.engine(log, tracked);
    const reporter = new ProgressReporter(
      this.deps.store,
      id,
      this.deps.progressIntervalMs,
      (b) => tracked.sourceBytes(b),
      token,
    );
    let target: StorageTarget | undefined;
    let result: UploadResult;
    try {
      const source = createSource(await this.deps.store.sourceForRun(record), this.deps.sourcePolicy);
      target = this.target(record, log);
      result = await engine.run({
        uploadKey: id,
        source,
        target,
        signal: run.signal,
        onProgress: reporter.update,
      });
    } catch (err) {
      await reporter.flush();
      return await this.stopped(err, job, token, run, record, engine, target, tracked, log);
    }
    await reporter.flush();
    const done = await this.deps.store.succeed(id, toJobResult(result), finalProgress(result, reporter.last));
    if (!done.ok) {
      tracked.release();
      log.warn(
        { status: done.record?.status ?? null },
        'upload finished after the job ended; result not recorded',
      );
      return { jobId: id, outcome: done.record ? 'already-finished' : 'missing' };
    }
    tracked.finish({ status: 'succeeded' });
    log.info(
      {
        size: result.size,
        resumed: result.resumed,
        skippedBytes: result.skippedBytes,
        mediaId: result.destination.mediaId,
      },
      'job succeeded',
    );
    // Outside the engine's try: an enqueue failure fails this attempt, and the retry (seeing a
    // succeeded record) only re-sends the webhook.
    await this.notify(done.record);
    return { jobId: id, outcome: 'succeeded' };
  }

  /** Decides how an interrupted or failed run ends (see the class comment). */
  private async stopped(
    err: unknown,
    job: UploadJob,
    token: string | undefined,
    run: RunningJob,
    record: JobRecord,
    engine: UploadEngine,
    target: StorageTarget | undefined,
    tracked: TrackedJob,
    log: Logger,
  ): Promise<UploadOutcome> {
    const id = record.id;
    const reason = run.reason;
    if (reason === 'cancel' || (await this.deps.store.get(id))?.status === 'canceled') {
      tracked.finish({ status: 'canceled', errorCode: 'CANCELED' });
      return await this.cleanUpCanceled(record, engine, target, log);
    }
    if (reason === 'shutdown') {
      tracked.release();
      await this.handBack(job, token, log);
      throw new WaitingError();
    }
    if (reason === 'lock-lost' || err instanceof OwnershipLostError) {
      tracked.release();
      log.warn({ reason: reason ?? 'ownership-lost' }, 'another worker took this job over; stopping');
      // BullMQ's lock is not ours any more: leave the job alone.
      throw new WaitingError();
    }
    const info = classify(err);
    const final = !info.retryable || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const failed = await this.deps.store.fail(id, info, { final, runner: token });
    if (!failed.ok) {
      const status = failed.record?.status;
      if (status === 'canceled') {
        tracked.finish({ status: 'canceled', errorCode: 'CANCELED' });
        return await this.cleanUpCanceled(record, engine, target, log);
      }
      tracked.release();
      if (status === undefined || isTerminal(status)) {
        // Finished (or expired) meanwhile, by another run: nothing left to do here.
        log.warn({ err: info, status: status ?? null }, 'attempt failed after the job ended elsewhere');
        return { jobId: id, outcome: status ? 'already-finished' : 'missing' };
      }
      // Another run holds the record: this worker lost the job (its lock expired) and lets go.
      log.warn({ err: info }, 'attempt failed after another worker took the job over; letting go');
      throw new WaitingError();
    }
    if (!final) {
      tracked.release();
      log.warn({ err: info }, 'attempt failed; will retry');
      throw err;
    }
    tracked.finish({ status: 'failed', errorCode: info.code });
    log.error({ err: info }, 'job failed');
    await this.notify(failed.record);
    throw new UnrecoverableError(`${info.code}: ${info.message}`);
  }

  /** The job was not runnable: canceled (clean up what earlier attempts left) or already finished. */
  private async notRunnable(jobId: string, record: JobRecord | null, log: Logger): Promise<UploadOutcome> {
    if (!record) {
      log.warn({}, 'no record for this job (expired?); dropping it');
      return { jobId, outcome: 'missing' };
    }
    if (record.status === 'canceled')
      return await this.cleanUpCanceled(record, this.engine(log), undefined, log);
    if (isTerminal(record.status)) await this.notify(record);
    return { jobId, outcome: 'already-finished' };
  }

  /** Aborts the multipart upload and drops the checkpoint (nothing left behind), then notifies. */
  private async cleanUpCanceled(
    record: JobRecord,
    engine: UploadEngine,
    target: StorageTarget | undefined,
    log: Logger,
  ): Promise<UploadOutcome> {
    try {
      await engine.cancel(record.id, target ?? this.target(record, log));
      log.info({}, 'job canceled; upload aborted');
    } catch (err) {
      // The checkpoint stays claimed by this cancel; it expires, and the multipart upload with it.
      log.warn({ err: classify(err) }, 'could not abort the canceled upload');
    }
    await this.notify((await this.deps.store.get(record.id)) ?? record);
    return { jobId: record.id, outcome: 'canceled' };
  }

  /** Shutdown: record back to `queued`, BullMQ job back to wait (no attempt spent) for any worker. */
  private async handBack(job: UploadJob, token: string | undefined, log: Logger): Promise<void> {
    try {
      await this.deps.store.release(job.data.jobId, token);
      await job.moveToWait(token);
      log.info({}, 'job handed back for another worker');
    } catch (err) {
      // Stalled-job detection brings it back once the lock expires.
      log.warn({ err: classify(err) }, 'could not hand the job back; it returns after its lock expires');
    }
  }

  private async notify(record: JobRecord): Promise<void> {
    const callbackUrl = record.spec.callbackUrl;
    if (!callbackUrl || !this.deps.webhooks || !isTerminal(record.status)) return;
    await this.deps.webhooks.enqueue({ service: record.service, callbackUrl, job: toJobView(record) });
  }

  private engine(log: Logger, tracked?: TrackedJob): UploadEngine {
    return new UploadEngine({
      checkpoints: this.deps.checkpoints,
      partSize: this.deps.upload.partSize,
      parallelism: this.deps.upload.parallelism,
      maxSourceBytes: this.deps.upload.maxSourceBytes,
      memory: this.deps.upload.memory,
      progressIntervalMs: this.deps.progressIntervalMs,
      logger: log,
      ...(tracked ? { events: tracked.events } : {}),
    });
  }

  private target(record: JobRecord, log: Logger): StorageTarget {
    return createStorageTarget(
      { target: record.spec.target, media: record.spec.media },
      {
        ...this.deps.targetDeps,
        logger: log,
        onCredentialRefresh: () => this.deps.metrics.credentialRefreshed(),
      },
    );
  }
}
