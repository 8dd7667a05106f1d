export { type JobEvent, JobEventBus, type Unsubscribe } from './job-events.js';
export {
  canonicalJson,
  decodeJobRecord,
  emptyProgress,
  isTerminal,
  type JobRecord,
  specHash,
  TERMINAL_STATUSES,
} from './job-record.js';
export {
  type CreateJobInput,
  type CreateJobResult,
  type JobPage,
  JobStore,
  type JobStoreOptions,
  type ListJobsOptions,
  type TransitionResult,
} from './job-store.js';
export { toJobView } from './job-view.js';
export { LuaScript } from './lua-script.js';
export {
  type CreateRedisOptions,
  closeRedis,
  createRedis,
  pingRedis,
  type QueueLogger,
  type RedisRole,
  reconnectDelay,
  waitForRedisReady,
} from './redis-connection.js';
export { DEFAULT_REDIS_PREFIX, StoreKeys } from './store-keys.js';
export {
  type CreateUploadQueueOptions,
  createUploadQueue,
  enqueueUploads,
  QUEUE_NAMES,
  UPLOAD_JOB_NAME,
  type UploadJobData,
  type UploadJobOptionsInput,
  uploadJobAddOptions,
  uploadJobOptions,
} from './upload-queue.js';
