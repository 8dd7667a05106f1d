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
  type RedisClient,
  type RedisRole,
  reconnectDelay,
  waitForRedisReady,
} from './redis-connection.js';
export { type RedisTarget, targetOptions } from './redis-target.js';
export { DEFAULT_REDIS_PREFIX, QUEUE_NAMES, StoreKeys, uploadShardOf } from './store-keys.js';
export {
  type CreateUploadQueueOptions,
  createUploadQueue,
  enqueueUploads,
  UPLOAD_JOB_NAME,
  type UploadJobData,
  type UploadJobOptionsInput,
  UploadQueues,
  uploadJobAddOptions,
  uploadJobOptions,
} from './upload-queue.js';
