import type { MediaSpec, StorageTarget, TargetSpec } from '@mediaferry/core';
import type { AliyunLogger } from './logger.js';
import type { OssAccount, OssClientOptions } from './oss-client.js';
import type { OssMultipartOptions } from './oss-multipart.js';
import { OssStorageTarget } from './oss-storage.target.js';
import type { VodClient } from './vod-client.js';
import { type VodCredentialRefreshEvent, VodStorageTarget } from './vod-storage.target.js';

export interface StorageTargetDeps extends OssMultipartOptions {
  vod: VodClient;
  /** The account's OSS settings, for `{"type":"oss"}` targets. */
  ossAccount: OssAccount;
  logger?: AliyunLogger;
  /** ali-oss timeouts and agents. */
  client?: OssClientOptions;
  /** @defaultValue `min(5 min, 10% of the credential's lifetime)` */
  refreshAheadMs?: (lifetimeMs: number) => number;
  onCredentialRefresh?: (event: VodCredentialRefreshEvent) => void;
}

/** The StorageTarget for a job: a VOD media (default) or a plain OSS bucket + key. */
export function createStorageTarget(
  job: { target: TargetSpec; media: MediaSpec },
  deps: StorageTargetDeps,
): StorageTarget {
  const shared: OssMultipartOptions = {};
  if (deps.listPartsPageSize !== undefined) shared.listPartsPageSize = deps.listPartsPageSize;
  if (deps.bodyChunkBytes !== undefined) shared.bodyChunkBytes = deps.bodyChunkBytes;
  if (job.target.type === 'oss') {
    return new OssStorageTarget({
      ...shared,
      account: deps.ossAccount,
      bucket: job.target.bucket,
      key: job.target.key,
      mediaType: job.media.type,
      ...(deps.client ? { client: deps.client } : {}),
    });
  }
  return new VodStorageTarget({
    ...shared,
    vod: deps.vod,
    media: job.media,
    ...(deps.client ? { client: deps.client } : {}),
    ...(deps.logger ? { logger: deps.logger } : {}),
    ...(deps.refreshAheadMs ? { refreshAheadMs: deps.refreshAheadMs } : {}),
    ...(deps.onCredentialRefresh ? { onCredentialRefresh: deps.onCredentialRefresh } : {}),
  });
}
