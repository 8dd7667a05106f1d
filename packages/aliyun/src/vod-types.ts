import type { UploadAddress, UploadCredentials } from './upload-auth.js';

/** Options of `VodClient`. */
export interface VodClientOptions {
  /**
   * VOD API endpoint, with or without scheme: `http://127.0.0.1:9000` (the emulator) or
   * `https://vod.cn-shanghai.aliyuncs.com`. Without a scheme: https, or http for a loopback host.
   */
  endpoint: string;
  /** Region id, e.g. `cn-shanghai`; also the fallback for an UploadAuth without `Region`. */
  regionId: string;
  accessKeyId: string;
  accessKeySecret: string;
  /** STS token when the AccessKey pair is temporary. */
  securityToken?: string;
  /**
   * TCP connect timeout in ms.
   * @defaultValue 5000
   */
  connectTimeoutMs?: number;
  /**
   * Time to wait for the response in ms.
   * @defaultValue 15000
   */
  readTimeoutMs?: number;
}

/** Per-call options. */
export interface VodCallOptions {
  /**
   * Stops waiting when aborted (rejects with `AbortError`). openapi-core takes no signal, so the HTTP
   * request itself runs on until it answers or hits `readTimeoutMs`; its outcome is discarded.
   */
  signal?: AbortSignal;
}

/** Options VOD stores on every media kind. */
interface CommonMediaInput {
  title?: string;
  description?: string;
  /** Sent as a comma list. */
  tags?: string[] | string;
  storageLocation?: string;
  appId?: string;
  /** Sent as a JSON string; a string is passed through. */
  userData?: Record<string, unknown> | string;
}

export interface CreateUploadVideoInput extends CommonMediaInput {
  title: string;
  /** Source file name with extension (VOD derives the container from it). */
  fileName: string;
  fileSize?: number;
  coverUrl?: string;
  cateId?: number;
  templateGroupId?: string;
  workflowId?: string;
  referenceId?: string;
}

export interface CreateUploadImageInput extends CommonMediaInput {
  /** `default`, `cover`, ... @defaultValue `default` (VOD's default) */
  imageType?: string;
  /** `png`, `jpg`, `jpeg`, `gif`... without the dot. */
  imageExt?: string;
  originalFileName?: string;
  cateId?: number;
}

export interface CreateUploadAttachedMediaInput extends CommonMediaInput {
  businessType: 'subtitle' | 'watermark' | 'material' | (string & {});
  /** Extension without the dot, e.g. `vtt`. */
  mediaExt?: string;
  fileName?: string;
  fileSize?: number;
  /** Category ids, sent as a comma list. */
  cateIds?: number[] | string;
}

/** What every Create…/Refresh… action yields: where to upload and with which STS credential. */
export interface UploadTicket {
  requestId: string;
  /** VideoId / ImageId / MediaId. */
  mediaId: string;
  address: UploadAddress;
  credentials: UploadCredentials;
}

export interface CreateUploadVideoResult extends UploadTicket {
  videoId: string;
}

export interface CreateUploadImageResult extends UploadTicket {
  imageId: string;
  imageUrl: string | null;
  fileUrl: string | null;
}

export interface CreateUploadAttachedMediaResult extends UploadTicket {
  fileUrl: string | null;
  mediaUrl: string | null;
}

export type VideoStatus =
  | 'Uploading'
  | 'UploadFail'
  | 'UploadSucc'
  | 'Transcoding'
  | 'TranscodeFail'
  | 'Blocked'
  | 'Normal'
  | (string & {});

export interface VideoInfo {
  videoId: string;
  title: string | null;
  status: VideoStatus;
  description: string | null;
  size: number | null;
  duration: number | null;
  coverUrl: string | null;
  cateId: number | null;
  tags: string | null;
  templateGroupId: string | null;
  storageLocation: string | null;
  regionId: string | null;
  appId: string | null;
  userData: string | null;
  referenceId: string | null;
  creationTime: string | null;
  modificationTime: string | null;
  /** The raw `Video` object, for fields not mapped above. */
  raw: Record<string, unknown>;
}

export interface GetVideoInfoResult {
  requestId: string;
  video: VideoInfo;
}

export interface ImageInfo {
  imageId: string;
  title: string | null;
  status: string | null;
  imageType: string | null;
  url: string | null;
  storageLocation: string | null;
  appId: string | null;
  originalFileName: string | null;
  fileSize: number | null;
  fileUrl: string | null;
  raw: Record<string, unknown>;
}

export interface GetImageInfoResult {
  requestId: string;
  image: ImageInfo;
}

export interface DeleteVideoResult {
  requestId: string;
  nonExistVideoIds: string[];
  forbiddenVideoIds: string[];
}

export interface GetVideoInfosResult {
  requestId: string;
  videos: VideoInfo[];
  /** The asked ids (VideoIds or ReferenceIds) VOD does not know. */
  nonExistIds: string[];
}
