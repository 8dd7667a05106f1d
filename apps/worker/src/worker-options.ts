/** Tunables of the upload worker; every field has a default (most come from CONTRACT §4 config). */
export interface UploadWorkerOptions {
  /** Jobs this process runs at once. @defaultValue config `WORKER_CONCURRENCY` (4) */
  concurrency?: number;
  /**
   * How long a job's BullMQ lock lasts without renewal; a SIGKILLed worker's jobs come back after
   * about this long plus `stalledIntervalMs`. @defaultValue config `WORKER_LOCK_DURATION_MS` (30000)
   */
  lockDurationMs?: number;
  /** How often any worker looks for jobs whose lock expired. @defaultValue config `WORKER_STALLED_INTERVAL_MS` (15000) */
  stalledIntervalMs?: number;
  /**
   * Times a job may come back from a dead worker before it fails (record `failed`, code `JOB_STALLED`).
   * @defaultValue config `WORKER_MAX_STALLED_COUNT` (5)
   */
  maxStalledCount?: number;
  /**
   * SIGTERM: in-flight uploads are aborted at once (their checkpoints stay) and handed back; this
   * bounds how long the hand-off may take before the worker closes anyway (a job not handed back
   * then returns through stalled detection). @defaultValue config `WORKER_SHUTDOWN_GRACE_MS` (25000)
   */
  shutdownGraceMs?: number;
  /** Shortest interval between two progress writes of one job. @defaultValue 1000 */
  progressIntervalMs?: number;
  /** Also deliver webhooks from this process (any number of processes may). @defaultValue true */
  runWebhookWorker?: boolean;
  /** Key prefix of checkpoints. @defaultValue `<redisPrefix>:checkpoint:` */
  checkpointPrefix?: string;
}

export interface ResolvedWorkerOptions {
  concurrency: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
  maxStalledCount: number;
  shutdownGraceMs: number;
  progressIntervalMs: number;
  runWebhookWorker: boolean;
  checkpointPrefix: string;
}
