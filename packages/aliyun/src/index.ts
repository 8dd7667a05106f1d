export { raceSignal } from './abort.js';
export { createBodyStream, DEFAULT_BODY_CHUNK_BYTES } from './body-stream.js';
export {
  type CredentialLease,
  CredentialRefresher,
  type CredentialRefresherOptions,
  defaultRefreshAheadMs,
  type RefreshEvent,
  type RefreshReason,
} from './credential-refresher.js';
export { type AliyunLogger, silentLogger } from './logger.js';
export {
  createAccountOssClient,
  createStsOssClient,
  type OssAccount,
  type OssApi,
  type OssClientHandle,
  type OssClientOptions,
  type OssRequestContext,
  type OssRequestOptions,
  type OssSignatureVersion,
} from './oss-client.js';
export { mapOssError, type OssErrorContext } from './oss-errors.js';
export {
  MAX_PART_NUMBER,
  type OssClientLease,
  type OssClientProvider,
  OssMultipartObject,
  type OssMultipartOptions,
} from './oss-multipart.js';
export { OssStorageTarget, type OssStorageTargetOptions } from './oss-storage.target.js';
export { createStorageTarget, type StorageTargetDeps } from './target-factory.js';
export {
  decodeUploadAddress,
  decodeUploadAuth,
  type UploadAddress,
  UploadCredentials,
} from './upload-auth.js';
export { parseVodEndpoint, VOD_API_VERSION, VodClient } from './vod-client.js';
export { isVodNotFound, mapVodError, sanitizeServerMessage } from './vod-errors.js';
export { attachedInput, fileExtension, imageInput, videoInput } from './vod-media-input.js';
export { vodReferenceId } from './vod-reference-id.js';
export {
  type VodCredentialRefreshEvent,
  VodStorageTarget,
  type VodStorageTargetOptions,
} from './vod-storage.target.js';
export type * from './vod-types.js';
