import {
  attachedInput,
  decodeUploadAddress,
  decodeUploadAuth,
  imageInput,
  isVodNotFound,
  type UploadAddress,
  type UploadCredentials,
  type VodClient,
  videoInput,
} from '@mediaferry/aliyun';
import { type MediaSpec, VodError } from '@mediaferry/core';

/** Credentials for one media as VOD issued them: the raw base64 strings and their decoded form. */
export interface VodIssue {
  mediaId: string;
  uploadAddress: string;
  uploadAuth: string;
  address: UploadAddress;
  credentials: UploadCredentials;
}

/** What VOD says about a media now. */
export interface VodMediaState {
  exists: boolean;
  /** VOD holds the uploaded file (status past `Uploading`). */
  uploaded: boolean;
  status: string;
  /** Bytes of the uploaded file as VOD reports it; null when its answer carries none. */
  size: number | null;
  fileUrl: string | null;
}

/** The VOD calls client uploads need (a seam for tests of failure paths; `VodMediaApi` in production). */
export interface ClientUploadVod {
  create(
    media: MediaSpec,
    fileName: string,
    fileSize: number,
    userData: Record<string, unknown> | undefined,
    signal?: AbortSignal,
  ): Promise<VodIssue>;
  /** RefreshUploadVideo: new credentials for the same video (video and audio only). */
  refresh(videoId: string, signal?: AbortSignal): Promise<VodIssue>;
  lookup(type: MediaSpec['type'], mediaId: string, signal?: AbortSignal): Promise<VodMediaState>;
  /** Deletes the media and its file; an unknown media is not an error. */
  delete(type: MediaSpec['type'], mediaId: string, signal?: AbortSignal): Promise<void>;
}

type Body = Record<string, unknown>;
const str = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : null);
const num = (v: unknown) => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : Number.NaN;
  return Number.isFinite(n) ? n : null;
};
const list = (v: string[] | string | undefined) =>
  v === undefined ? undefined : typeof v === 'string' ? v : v.join(',');
const json = (v: Record<string, unknown> | string | undefined) =>
  v === undefined ? undefined : typeof v === 'string' ? v : JSON.stringify(v);

/** States VOD reports for a media whose file is not (or no longer) there. */
const NOT_UPLOADED = new Set(['', 'Uploading', 'UploadFail', 'Deleted']);

function issueOf(body: Body, idField: string, region: string): VodIssue {
  const mediaId = str(body[idField]);
  const uploadAddress = str(body.UploadAddress);
  const uploadAuth = str(body.UploadAuth);
  if (!mediaId || !uploadAddress || !uploadAuth) {
    throw new VodError(`VOD answered without ${idField}, UploadAddress or UploadAuth`, { status: 502 });
  }
  return {
    mediaId,
    uploadAddress,
    uploadAuth,
    address: decodeUploadAddress(uploadAddress),
    credentials: decodeUploadAuth(uploadAuth, region),
  };
}

/**
 * Client-upload calls over `VodClient.call`, keeping VOD's raw UploadAddress/UploadAuth (the client
 * SDKs take them as issued). Create… parameters are the ones the generated SDK sends.
 */
export class VodMediaApi implements ClientUploadVod {
  constructor(private readonly vod: VodClient) {}

  async create(
    media: MediaSpec,
    fileName: string,
    fileSize: number,
    userData: Record<string, unknown> | undefined,
    signal?: AbortSignal,
  ): Promise<VodIssue> {
    const region = this.vod.regionId;
    if (media.type === 'image') {
      const i = imageInput({ ...media, ...(userData ? { userData } : {}) }, fileName);
      const body = (await this.vod.call(
        'CreateUploadImage',
        {
          ImageType: i.imageType ?? 'default',
          ImageExt: i.imageExt,
          Title: i.title,
          Tags: list(i.tags),
          CateId: i.cateId,
          Description: i.description,
          OriginalFileName: i.originalFileName,
          StorageLocation: i.storageLocation,
          AppId: i.appId,
          UserData: json(i.userData),
        },
        { signal },
      )) as Body;
      return issueOf(body, 'ImageId', region);
    }
    if (media.type === 'attached') {
      const a = attachedInput({ ...media, ...(userData ? { userData } : {}) }, fileName, fileSize);
      const body = (await this.vod.call(
        'CreateUploadAttachedMedia',
        {
          BusinessType: a.businessType,
          MediaExt: a.mediaExt,
          Title: a.title,
          FileName: a.fileName,
          FileSize: a.fileSize,
          Tags: list(a.tags),
          CateIds: list(a.cateIds?.toString()),
          Description: a.description,
          StorageLocation: a.storageLocation,
          AppId: a.appId,
          UserData: json(a.userData),
        },
        { signal },
      )) as Body;
      return issueOf(body, 'MediaId', region);
    }
    const v = videoInput({ ...media, ...(userData ? { userData } : {}) }, fileName, fileSize);
    const body = (await this.vod.call(
      'CreateUploadVideo',
      {
        Title: v.title,
        FileName: v.fileName,
        FileSize: v.fileSize,
        Description: v.description,
        CoverURL: v.coverUrl,
        CateId: v.cateId,
        Tags: list(v.tags),
        TemplateGroupId: v.templateGroupId,
        WorkflowId: v.workflowId,
        StorageLocation: v.storageLocation,
        AppId: v.appId,
        UserData: json(v.userData),
        ReferenceId: v.referenceId,
      },
      { signal },
    )) as Body;
    return issueOf(body, 'VideoId', region);
  }

  async refresh(videoId: string, signal?: AbortSignal): Promise<VodIssue> {
    const body = (await this.vod.call('RefreshUploadVideo', { VideoId: videoId }, { signal })) as Body;
    return issueOf({ VideoId: videoId, ...body }, 'VideoId', this.vod.regionId);
  }

  async lookup(type: MediaSpec['type'], mediaId: string, signal?: AbortSignal): Promise<VodMediaState> {
    try {
      if (type === 'image') {
        const body = (await this.vod.call('GetImageInfo', { ImageId: mediaId }, { signal })) as Body;
        const info = (body.ImageInfo ?? {}) as Body;
        const mezzanine = (info.Mezzanine ?? {}) as Body;
        return this.#state(
          str(info.Status) ?? '',
          num(mezzanine.FileSize),
          str(mezzanine.FileURL) ?? str(info.URL),
        );
      }
      if (type === 'attached') {
        const body = (await this.vod.call('GetAttachedMediaInfo', { MediaIds: mediaId }, { signal })) as Body;
        const items = Array.isArray(body.AttachedMediaList) ? (body.AttachedMediaList as Body[]) : [];
        const item = items.find((m) => m.MediaId === mediaId);
        if (!item) return { exists: false, uploaded: false, status: '', size: null, fileUrl: null };
        return this.#state(str(item.Status) ?? '', num(item.FileSize), str(item.URL));
      }
      // The mezzanine is the uploaded source file: its size is what the client sent.
      let body: Body;
      try {
        body = (await this.vod.call('GetMezzanineInfo', { VideoId: mediaId }, { signal })) as Body;
      } catch (err) {
        // VOD may refuse GetMezzanineInfo for a video with no source file yet (its docs do not say how):
        // any other refusal falls back to GetVideoInfo, whose Status says whether the upload completed.
        if (isVodNotFound(err) || !(err instanceof VodError) || err.retryable) throw err;
        const info = (await this.vod.call('GetVideoInfo', { VideoId: mediaId }, { signal })) as Body;
        const v = (info.Video ?? {}) as Body;
        return this.#state(str(v.Status) ?? '', num(v.Size), null);
      }
      const m = (body.Mezzanine ?? {}) as Body;
      return this.#state(str(m.Status) ?? '', num(m.Size) ?? num(m.FileSize), str(m.FileURL));
    } catch (err) {
      if (isVodNotFound(err))
        return { exists: false, uploaded: false, status: '', size: null, fileUrl: null };
      throw err;
    }
  }

  async delete(type: MediaSpec['type'], mediaId: string, signal?: AbortSignal): Promise<void> {
    try {
      if (type === 'image')
        await this.vod.call('DeleteImage', { DeleteImageType: 'ImageId', ImageIds: mediaId }, { signal });
      else if (type === 'attached')
        await this.vod.call('DeleteAttachedMedia', { MediaIds: mediaId }, { signal });
      else await this.vod.deleteVideo(mediaId, { signal });
    } catch (err) {
      if (!isVodNotFound(err)) throw err;
    }
  }

  #state(status: string, size: number | null, fileUrl: string | null): VodMediaState {
    return { exists: true, uploaded: !NOT_UPLOADED.has(status), status, size, fileUrl };
  }
}
