export { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF, parseRetryAfter, sleep } from './backoff.js';
export { BufferPool, type BufferPoolOptions } from './buffer-pool.js';
export type {
  Checkpoint,
  CheckpointPart,
  CheckpointStore,
  ClaimOptions,
  UploadState,
  UploadStatePatch,
} from './checkpoint-store.js';
export { MemoryBudget, type MemoryBudgetOptions } from './memory-budget.js';
export { MemoryCheckpointStore } from './memory-checkpoint.store.js';
export {
  capacity,
  largestPartSize,
  MAX_OBJECT_SIZE,
  MAX_PART_SIZE,
  MAX_PARTS,
  MIN_PART_SIZE,
  type PartPlan,
  type PlannedPart,
  type PlanOptions,
  partAt,
  partCount,
  planParts,
} from './part-planner.js';
export { partRetryReason, type RetryReason } from './part-uploader.js';
export type { UploadProgress } from './progress-meter.js';
export { RedisCheckpointStore, type RedisCheckpointStoreOptions } from './redis-checkpoint.store.js';
export { combineCrc, reconcile, sameEtag } from './resume.js';
export { UploadEngine } from './upload-engine.js';
export type {
  EngineEventListener,
  EngineLogger,
  UploadEngineOptions,
  UploadRequest,
  UploadResult,
} from './upload-engine.options.js';
