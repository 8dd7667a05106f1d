import { performance } from 'node:perf_hooks';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import {
  ERROR_CODES,
  type JobStatusLabel,
  MEDIA_TYPES,
  NO_ERROR_CODE,
  OTHER_ERROR_CODE,
  sanitizeErrorCode,
  sanitizeJobStatus,
  sanitizeMediaType,
  sanitizeRetryReason,
  sanitizeSourceType,
} from './metric-labels.js';

/** 1 s … 8 h: jobs range from a small image to a multi-hour, many-GiB video over a slow URL. */
export const JOB_DURATION_BUCKETS: readonly number[] = [
  1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14_400, 28_800,
];
/** 10 ms … 5 min: one multipart part (default 8 MiB) to OSS, from a LAN emulator to a congested link. */
export const PART_UPLOAD_DURATION_BUCKETS: readonly number[] = [
  0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
];

/** What a job is, as far as metric labels go. Unknown values are mapped to `other`. */
export interface JobLabels {
  /** `file` or `url`. */
  sourceType: string;
  /** `video` | `audio` | `image` | `attached`; absent for a plain OSS target (→ `none`). */
  mediaType?: string | null | undefined;
}

/** The upload engine's events (packages/uploader), which these metrics consume as they happen. */
export interface UploadEngineEvents {
  /** A part was acknowledged by storage. */
  onPartUploaded(event: { durationMs: number; bytes: number }): void;
  /** A part failed and will be tried again; `reason` is the error code. */
  onPartRetry(event: { reason: string }): void;
  /** The job restarted from a checkpoint, skipping bytes already stored. */
  onResume(event: { skippedBytes: number }): void;
}

export interface JobOutcome {
  status: JobStatusLabel;
  /** The error code of a failed or canceled job; ignored on success. */
  errorCode?: string | undefined;
  /**
   * Seconds the job took. For a job handle, defaults to the time since `trackJob()`; pass the job
   * record's `finishedAt - startedAt` instead to include earlier attempts.
   */
  durationSeconds?: number | undefined;
}

/** One job attempt on this worker: counts as active from `trackJob()` until `finish()`/`release()`. */
export interface TrackedJob {
  /** Pass these to the upload engine: bytes count as they are acknowledged, not at job end. */
  readonly events: UploadEngineEvents;
  /** Bytes read from the source. */
  sourceBytes(bytes: number): void;
  /** The job reached a terminal status: counts it, observes its duration, stops counting it as active. */
  finish(outcome: JobOutcome): void;
  /** The attempt ended without a terminal status (will retry, handed back on shutdown). Idempotent. */
  release(): void;
}

export interface WorkerMetricsOptions {
  /** Also collect Node's standard `process_*` / `nodejs_*` metrics into the registry. @defaultValue true */
  defaultMetrics?: boolean;
}

/** CONTRACT §5 worker metrics with label values restricted to bounded sets. */
export interface WorkerMetrics {
  readonly registry: Registry;
  trackJob(labels: JobLabels): TrackedJob;
  /** The engine callbacks for one job, without active-job accounting. */
  engineEvents(labels: JobLabels): UploadEngineEvents;
  uploadedBytes(labels: JobLabels, bytes: number): void;
  sourceBytes(sourceType: string, bytes: number): void;
  jobFinished(labels: JobLabels, outcome: JobOutcome & { durationSeconds: number }): void;
  partUploaded(durationMs: number): void;
  partRetried(reason: string): void;
  resumed(skippedBytes: number): void;
  credentialRefreshed(): void;
  /**
   * Reports the worker's memory budget (`mediaferry_worker_buffer_bytes{state="in_use"|"free"}`,
   * `mediaferry_worker_buffer_budget_bytes`), read at every scrape.
   */
  watchBuffers(read: () => BufferUsage): void;
  /** The raw prom-client metrics (for tests and for what the helpers above do not cover). */
  readonly metrics: {
    uploadBytes: Counter<'source_type' | 'media_type'>;
    sourceBytes: Counter<'source_type'>;
    jobs: Counter<'status' | 'source_type' | 'error_code'>;
    jobDuration: Histogram<'source_type'>;
    partUploadDuration: Histogram;
    partRetries: Counter<'reason'>;
    resumes: Counter;
    resumeSkippedBytes: Counter;
    credentialRefreshes: Counter;
    activeJobs: Gauge;
    workerUp: Gauge;
    bufferBytes: Gauge<'state'>;
    bufferBudgetBytes: Gauge;
  };
}

/** What a memory budget holds (`MemoryBudget` of `@mediaferry/uploader`). */
export interface BufferUsage {
  inUseBytes: number;
  freeBytes: number;
  limitBytes: number;
}

/** The reasons a part is usually retried for (pre-initialised series; any other code still counts). */
const RETRYABLE_REASONS = [
  'NETWORK_ERROR',
  'THROTTLED',
  'CREDENTIALS_EXPIRED',
  'STORAGE_ERROR',
  'TIMEOUT',
  'SOURCE_UNAVAILABLE',
  'INTERNAL',
  OTHER_ERROR_CODE,
] as const;

/** Counters only go up: NaN, negative or infinite increments (a bug upstream) are dropped, not thrown. */
const positive = (n: number) => Number.isFinite(n) && n > 0;

/**
 * Registers the worker metrics on `registry` (a fresh one by default, so tests and several workers
 * in one process do not collide) and returns typed handles. Label values are sanitised, never
 * trusted: a job id, URL or path passed by mistake ends up as `other`/`OTHER`.
 */
export function createWorkerMetrics(
  registry: Registry = new Registry(),
  options: WorkerMetricsOptions = {},
): WorkerMetrics {
  const registers = [registry];
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  let readBuffers = (): BufferUsage => ({ inUseBytes: 0, freeBytes: 0, limitBytes: 0 });
  const metrics: WorkerMetrics['metrics'] = {
    uploadBytes: new Counter({
      name: 'mediaferry_upload_bytes_total',
      help: 'Bytes acknowledged by storage (OSS), counted per part as it completes.',
      labelNames: ['source_type', 'media_type'],
      registers,
    }),
    sourceBytes: new Counter({
      name: 'mediaferry_source_bytes_total',
      help: 'Bytes read from sources (files and URLs), including bytes re-read after a retry.',
      labelNames: ['source_type'],
      registers,
    }),
    jobs: new Counter({
      name: 'mediaferry_jobs_total',
      help: 'Jobs that reached a terminal status, by outcome; error_code is "none" on success.',
      labelNames: ['status', 'source_type', 'error_code'],
      registers,
    }),
    jobDuration: new Histogram({
      name: 'mediaferry_job_duration_seconds',
      help: 'Time from a job attempt starting on a worker to its terminal status.',
      labelNames: ['source_type'],
      buckets: [...JOB_DURATION_BUCKETS],
      registers,
    }),
    partUploadDuration: new Histogram({
      name: 'mediaferry_part_upload_duration_seconds',
      help: 'Time to upload one multipart part, from request to acknowledgement.',
      buckets: [...PART_UPLOAD_DURATION_BUCKETS],
      registers,
    }),
    partRetries: new Counter({
      name: 'mediaferry_part_retries_total',
      help: 'Part uploads retried, by the error code that caused the retry.',
      labelNames: ['reason'],
      registers,
    }),
    resumes: new Counter({
      name: 'mediaferry_resumes_total',
      help: 'Jobs resumed from a Redis checkpoint instead of starting over.',
      registers,
    }),
    resumeSkippedBytes: new Counter({
      name: 'mediaferry_resume_skipped_bytes_total',
      help: 'Bytes not uploaded again thanks to resuming from a checkpoint.',
      registers,
    }),
    credentialRefreshes: new Counter({
      name: 'mediaferry_credential_refreshes_total',
      help: 'Upload credentials (VOD UploadAuth / STS tokens) refreshed mid-upload.',
      registers,
    }),
    activeJobs: new Gauge({
      name: 'mediaferry_active_jobs',
      help: 'Jobs this worker is processing right now.',
      registers,
    }),
    workerUp: new Gauge({
      name: 'mediaferry_worker_up',
      help: 'Always 1 while the worker process runs; sum() counts the live workers.',
      registers,
    }),
    bufferBytes: new Gauge({
      name: 'mediaferry_worker_buffer_bytes',
      help: 'Part buffer memory of the worker: in_use by parts in flight, free (kept for reuse).',
      labelNames: ['state'],
      registers,
      collect() {
        const usage = readBuffers();
        this.labels('in_use').set(usage.inUseBytes);
        this.labels('free').set(usage.freeBytes);
      },
    }),
    bufferBudgetBytes: new Gauge({
      name: 'mediaferry_worker_buffer_budget_bytes',
      help: 'The worker memory budget (WORKER_MEMORY_BUDGET_BYTES) its part buffers share.',
      registers,
      collect() {
        this.set(readBuffers().limitBytes);
      },
    }),
  };
  metrics.workerUp.set(1);
  metrics.activeJobs.set(0);

  // Start the common series at 0 so rate()/increase() see their first increment (Prometheus
  // cannot count a series' first sample as an increase).
  for (const reason of RETRYABLE_REASONS) metrics.partRetries.labels(reason).inc(0);
  for (const sourceType of ['file', 'url'] as const) {
    metrics.sourceBytes.labels(sourceType).inc(0);
    metrics.jobDuration.zero({ source_type: sourceType });
    for (const mediaType of MEDIA_TYPES.filter((m) => m !== 'other')) {
      metrics.uploadBytes.labels(sourceType, mediaType).inc(0);
    }
    metrics.jobs.labels('succeeded', sourceType, NO_ERROR_CODE).inc(0);
    metrics.jobs.labels('canceled', sourceType, 'CANCELED').inc(0);
    for (const code of ERROR_CODES.filter((c) => c !== NO_ERROR_CODE)) {
      metrics.jobs.labels('failed', sourceType, code).inc(0);
    }
  }

  const uploadedBytes = (labels: JobLabels, bytes: number) => {
    if (!positive(bytes)) return;
    metrics.uploadBytes
      .labels(sanitizeSourceType(labels.sourceType), sanitizeMediaType(labels.mediaType))
      .inc(bytes);
  };
  const partUploaded = (durationMs: number) => {
    if (Number.isFinite(durationMs) && durationMs >= 0) metrics.partUploadDuration.observe(durationMs / 1000);
  };
  const partRetried = (reason: string) => metrics.partRetries.labels(sanitizeRetryReason(reason)).inc();
  const resumed = (skippedBytes: number) => {
    metrics.resumes.inc();
    if (positive(skippedBytes)) metrics.resumeSkippedBytes.inc(skippedBytes);
  };
  const engineEvents = (labels: JobLabels): UploadEngineEvents => ({
    onPartUploaded: ({ durationMs, bytes }) => {
      uploadedBytes(labels, bytes);
      partUploaded(durationMs);
    },
    onPartRetry: ({ reason }) => partRetried(reason),
    onResume: ({ skippedBytes }) => resumed(skippedBytes),
  });
  const jobFinished = (labels: JobLabels, outcome: JobOutcome & { durationSeconds: number }) => {
    const status = sanitizeJobStatus(outcome.status);
    const sourceType = sanitizeSourceType(labels.sourceType);
    let errorCode = sanitizeErrorCode(outcome.errorCode);
    if (status === 'succeeded') errorCode = NO_ERROR_CODE;
    else if (errorCode === NO_ERROR_CODE) errorCode = status === 'canceled' ? 'CANCELED' : OTHER_ERROR_CODE;
    metrics.jobs.labels(status, sourceType, errorCode).inc();
    if (Number.isFinite(outcome.durationSeconds) && outcome.durationSeconds >= 0) {
      metrics.jobDuration.labels(sourceType).observe(outcome.durationSeconds);
    }
  };

  return {
    registry,
    metrics,
    engineEvents,
    uploadedBytes,
    sourceBytes: (sourceType, bytes) => {
      if (positive(bytes)) metrics.sourceBytes.labels(sanitizeSourceType(sourceType)).inc(bytes);
    },
    jobFinished,
    partUploaded,
    partRetried,
    resumed,
    credentialRefreshed: () => metrics.credentialRefreshes.inc(),
    watchBuffers: (read) => {
      readBuffers = read;
    },
    trackJob: (labels) => {
      const startedAt = performance.now();
      let active = true;
      metrics.activeJobs.inc();
      const release = () => {
        if (!active) return;
        active = false;
        metrics.activeJobs.dec();
      };
      return {
        events: engineEvents(labels),
        sourceBytes: (bytes) => {
          if (positive(bytes)) metrics.sourceBytes.labels(sanitizeSourceType(labels.sourceType)).inc(bytes);
        },
        finish: (outcome) => {
          // A second finish() for the same attempt is a caller bug; counting the job twice would be worse.
          if (!active) return;
          release();
          jobFinished(labels, {
            ...outcome,
            durationSeconds: outcome.durationSeconds ?? (performance.now() - startedAt) / 1000,
          });
        },
        release,
      };
    },
  };
}
