import type { RetryPolicy, Source, StorageTarget, UploadDestination } from '@mediaferry/core';
import type { BackoffOptions } from './backoff.js';
import type { CheckpointStore } from './checkpoint-store.js';
import type { MemoryBudget } from './memory-budget.js';
import type { RetryReason } from './part-uploader.js';
import type { UploadProgress } from './progress-meter.js';

/** The part of a pino logger the engine uses (`{ ...fields }, message`). */
export interface EngineLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Counters for the worker's Prometheus metrics; the engine itself has no metrics dependency. */
export interface EngineEventListener {
  /** A part was acknowledged (`mediaferry_part_upload_duration_seconds`). */
  onPartUploaded?(event: { durationMs: number; bytes: number; attempts: number }): void;
  /** A part upload or a source read is retried (`mediaferry_part_retries_total{reason}`). */
  onPartRetry?(event: { reason: RetryReason }): void;
  /** An upload resumed from a checkpoint (`mediaferry_resumes_total`, `..._resume_skipped_bytes_total`). */
  onResume?(event: { skippedBytes: number }): void;
}

export interface UploadEngineOptions {
  checkpoints: CheckpointStore;
  /** Preferred part size (grown to stay within 10,000 parts). @defaultValue 8 MiB (`UPLOAD_PART_SIZE`) */
  partSize?: number;
  /**
   * Parts in flight per upload (fewer while the memory budget is short). Memory of a streamed upload (a
   * local file) ≤ parallelism × 2 × `streamChunkBytes`; of a buffered one (a URL) ≤
   * (parallelism + 1) × part size; both within `memory`. @defaultValue 4
   */
  parallelism?: number;
  /**
   * The budget every part buffer comes from; pass one instance to every engine of a worker so that all
   * its jobs share it (`WORKER_MEMORY_BUDGET_BYTES`). A part needing more than the whole budget fails
   * with MemoryBudgetError before any byte moves. @defaultValue a 64 MiB budget of this engine's own
   */
  memory?: MemoryBudget;
  /** Chunk size in which parts of re-readable sources (local files) are read and sent. @defaultValue 1 MiB */
  streamChunkBytes?: number;
  /** Largest source of unknown size: sizes parts of streams (`MEDIAFERRY_MAX_URL_BYTES`). @defaultValue 5 GiB */
  maxSourceBytes?: number;
  /** Attempts per part (first + retries), and per source read without progress. @defaultValue 6 */
  maxPartAttempts?: number;
  /**
   * Deadline of one attempt of a storage operation; a part upload gets `size / minPartBytesPerSecond`
   * on top, since sending its body counts. @defaultValue 300000
   */
  partTimeoutMs?: number;
  /**
   * Slowest acceptable upload rate of one part (bytes per second), which stretches its deadline: 8 MiB
   * parts get 64 s more, the 5 GiB parts of a 48 TiB source 11.4 h. Keep the storage client's own
   * request timeout in line (`OssClientOptions.minBytesPerSecond`, same default).
   * @defaultValue 131072 (128 KiB/s)
   */
  minPartBytesPerSecond?: number;
  /**
   * How long a run creating the destination (the VOD media) holds other runs of the same upload off;
   * they wait for the destination instead of creating a second media. A run slower than this loses the
   * upload to the next one and deletes the media it created. @defaultValue 120000
   */
  prepareLeaseMs?: number;
  /** Retry backoff (equal jitter, doubling). @defaultValue `{ baseMs: 200, maxMs: 20000 }` */
  backoff?: BackoffOptions;
  /** What is retried (its backoff replaced by `backoff`). @defaultValue DEFAULT_RETRY_POLICY of @mediaferry/core */
  retryPolicy?: RetryPolicy;
  /** Identity of this engine in checkpoint owner tokens (each run adds a random suffix). @defaultValue random UUID */
  ownerId?: string;
  logger?: EngineLogger;
  events?: EngineEventListener;
  /** Progress emission period. @defaultValue 1000 */
  progressIntervalMs?: number;
  /** Clock. @defaultValue `Date.now` */
  now?: () => number;
}

export interface UploadRequest {
  /** Identifies the upload across runs and workers (the job id); the checkpoint's key. */
  uploadKey: string;
  source: Source;
  target: StorageTarget;
  signal?: AbortSignal;
  onProgress?: (progress: UploadProgress) => void;
}

export interface UploadResult {
  destination: UploadDestination;
  size: number;
  /** CRC-64/XZ of the whole object, unsigned decimal, verified against the server's. */
  crc64: string;
  etag: string;
  /** Whether this run continued from a checkpoint. */
  resumed: boolean;
  /** Bytes already on the server that this run did not upload. */
  skippedBytes: number;
  /** Bytes of parts this run uploaded (acknowledged). */
  uploadedBytes: number;
  partRetries: number;
  /** Credential refreshes the target reported, when it exposes them. */
  credentialRefreshes?: number;
}
