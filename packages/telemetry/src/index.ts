export { createLogger, type Logger, type LoggerOptions, type LogLevel, REDACT_PATHS } from './logger.js';
export * from './metric-labels.js';
export {
  type HealthCheck,
  type MetricsServer,
  type MetricsServerOptions,
  startMetricsServer,
} from './metrics-server.js';
export { type GuardLogger, installProcessGuards, type ProcessGuardOptions } from './process-guards.js';
export { isSensitiveKey, REDACTED, scrubText, scrubValue } from './redact.js';
export {
  type BufferUsage,
  createWorkerMetrics,
  JOB_DURATION_BUCKETS,
  type JobLabels,
  type JobOutcome,
  PART_UPLOAD_DURATION_BUCKETS,
  type TrackedJob,
  type UploadEngineEvents,
  type WorkerMetrics,
  type WorkerMetricsOptions,
} from './worker-metrics.js';
