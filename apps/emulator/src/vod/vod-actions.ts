import type { Logger } from 'pino';
import type { CallbackSender } from '../callbacks/callback-sender.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { CredentialStore } from '../sts/credential-store.js';
import { randomHex } from '../util/ids.js';
import { isoSeconds } from '../util/time.js';
import type { Media, MediaKind, MediaStore } from './media-store.js';
import { encodeUploadAddress, encodeUploadAuth } from './upload-auth.js';
import { vodErrors } from './vod-error.js';
import { VodParams } from './vod-params.js';

export interface VodDeps {
  media: MediaStore;
  sts: CredentialStore;
  store: ObjectStore;
  callbacks: CallbackSender;
  logger: Logger;
  region: string;
  vodBucket: string;
  credentialTtlSeconds: number;
  /** `http://127.0.0.1:PORT`, known once the server listens. */
  endpoint: () => string;
}

export type VodResult = Record<string, unknown>;
type Action = (deps: VodDeps, p: VodParams) => VodResult & { mediaId?: string };

const IMAGE_EXTS = ['png', 'jpg', 'jpeg', 'gif'] as const;
const ATTACHED_EXTS: Record<string, readonly string[]> = {
  watermark: ['png', 'gif', 'apng', 'mov'],
  subtitle: ['srt', 'ass', 'stl', 'ttml', 'vtt'],
  material: ['jpg', 'gif', 'png', 'mp4', 'mat', 'zip', 'apk'],
};

function storageLocation(deps: VodDeps): string {
  return `${deps.vodBucket}.oss-${deps.region}.aliyuncs.com`;
}

function objectUrl(deps: VodDeps, media: Media): string {
  return `${deps.endpoint()}/${media.bucket}/${media.key.split('/').map(encodeURIComponent).join('/')}`;
}

/** Parameters every Create* shares; StorageLocation must be ours when given. */
function commonFields(deps: VodDeps, p: VodParams) {
  const location = p.optional('StorageLocation');
  if (location !== undefined && location !== storageLocation(deps)) throw vodErrors.storageNotFound();
  const userData = p.userData();
  return {
    description: p.text('Description', 1024),
    tags: p.tags(),
    storageLocation: storageLocation(deps),
    appId: p.text('AppId', 64) ?? 'app-1000000',
    userData: userData?.raw,
    callback: userData?.callback,
  };
}

function newMedia(
  deps: VodDeps,
  kind: MediaKind,
  key: string,
  id: string,
  fields: Omit<Media, 'id' | 'kind' | 'bucket' | 'key' | 'status' | 'creationTime' | 'modificationTime'>,
): Media {
  const now = new Date();
  const media: Media = {
    ...(Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as typeof fields),
    id,
    kind,
    bucket: deps.vodBucket,
    key,
    status: 'Uploading',
    creationTime: now,
    modificationTime: now,
  };
  deps.media.add(media);
  return media;
}

function uploadCredentials(deps: VodDeps, media: Media) {
  const credential = deps.sts.issue({ bucket: media.bucket, key: media.key, mediaId: media.id });
  return {
    UploadAddress: encodeUploadAddress(deps.endpoint(), media.bucket, media.key),
    UploadAuth: encodeUploadAuth(credential, deps.credentialTtlSeconds, deps.region),
  };
}

/** ReferenceId: 6–64 letters, digits, `-` and `_`, unique per account. */
const REFERENCE_ID = /^[A-Za-z0-9_-]{6,64}$/;

function referenceIdParam(deps: VodDeps, p: VodParams): string | undefined {
  const referenceId = p.optional('ReferenceId');
  if (referenceId === undefined) return undefined;
  if (!REFERENCE_ID.test(referenceId))
    throw vodErrors.invalidParameter('ReferenceId', 'It must be 6-64 letters, digits, "-" or "_".');
  if (deps.media.byReferenceId(referenceId)) throw vodErrors.referenceIdInUse();
  return referenceId;
}

const createUploadVideo: Action = (deps, p) => {
  const title = p.text('Title', 128, true)!;
  const fileName = p.text('FileName', 1024, true)!;
  const ext = VodParams.extensionOf('FileName', fileName);
  const declaredSize = p.int('FileSize', 0);
  const common = commonFields(deps, p);
  const cateId = p.int('CateId', 0);
  p.bool('EnableFirstFrameCover');
  p.bool('GenerateThumbnail');
  const referenceId = referenceIdParam(deps, p);
  const id = randomHex(16);
  const dir = `${randomHex(4)}-${randomHex(6).slice(0, 11)}`;
  const media = newMedia(deps, 'video', `sv/${dir}/${dir}.${ext}`, id, {
    ...common,
    title,
    fileName,
    declaredSize,
    cateId,
    coverUrl: p.text('CoverURL', 1024),
    templateGroupId: p.text('TemplateGroupId', 64),
    workflowId: p.text('WorkflowId', 64),
    referenceId,
  });
  return { VideoId: id, ...uploadCredentials(deps, media), mediaId: id };
};

const refreshUploadVideo: Action = (deps, p) => {
  const id = p.required('VideoId');
  const media = deps.media.get(id);
  if (media?.kind !== 'video') throw vodErrors.videoNotFound();
  return { VideoId: id, ...uploadCredentials(deps, media), mediaId: id };
};

const createUploadImage: Action = (deps, p) => {
  const imageType = p.oneOf('ImageType', ['default', 'cover'], true)!;
  const originalFileName = p.text('OriginalFileName', 1024);
  const fromName = originalFileName
    ? /\.([A-Za-z0-9]+)$/.exec(originalFileName)?.[1]?.toLowerCase()
    : undefined;
  const ext = (p.optional('ImageExt')?.toLowerCase() ?? fromName ?? 'png') as (typeof IMAGE_EXTS)[number];
  if (!IMAGE_EXTS.includes(ext)) throw vodErrors.invalidParameter('ImageExt');
  const common = commonFields(deps, p);
  const id = randomHex(16);
  const media = newMedia(deps, 'image', `image/${imageType}/${id}-6-2.${ext}`, id, {
    ...common,
    title: p.text('Title', 128) ?? originalFileName ?? id,
    fileName: originalFileName,
    cateId: p.int('CateId', 0),
    imageType,
  });
  const url = objectUrl(deps, media);
  return { ImageId: id, ImageURL: url, FileURL: url, ...uploadCredentials(deps, media), mediaId: id };
};

const createUploadAttachedMedia: Action = (deps, p) => {
  const businessType = p.oneOf('BusinessType', ['watermark', 'subtitle', 'material'], true)!;
  const ext = p.required('MediaExt').toLowerCase();
  if (!ATTACHED_EXTS[businessType]!.includes(ext)) throw vodErrors.invalidParameter('MediaExt');
  const fileName = p.text('FileName', 1024);
  const common = commonFields(deps, p);
  const cateIds = p.optional('CateIds');
  if (cateIds !== undefined && !/^\d+(,\d+)*$/.test(cateIds)) throw vodErrors.invalidParameter('CateIds');
  const id = randomHex(16);
  const media = newMedia(deps, 'attached', `${businessType}/${id}.${ext}`, id, {
    ...common,
    title: p.text('Title', 128) ?? fileName ?? id,
    fileName,
    declaredSize: p.int('FileSize', 0),
    businessType,
  });
  const url = objectUrl(deps, media);
  return { MediaId: id, MediaURL: url, FileURL: url, ...uploadCredentials(deps, media), mediaId: id };
};

/** Drops undefined fields, as the service omits empty ones. */
function compact(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** The `Video` object of GetVideoInfo / GetVideoInfos. */
function videoView(deps: VodDeps, m: Media): Record<string, unknown> {
  return compact({
    VideoId: m.id,
    Title: m.title,
    Description: m.description,
    Duration: 0,
    CoverURL: m.coverUrl,
    Status: m.status,
    CreationTime: isoSeconds(m.creationTime),
    ModificationTime: isoSeconds(m.modificationTime),
    Size: m.size ?? m.declaredSize ?? 0,
    CateId: m.cateId,
    CateName: m.cateId === undefined ? undefined : `Category ${m.cateId}`,
    Tags: m.tags,
    TemplateGroupId: m.templateGroupId,
    StorageLocation: m.storageLocation,
    RegionId: deps.region,
    AppId: m.appId,
    AuditStatus: 'Init',
    StorageClass: 'Standard',
    DownloadSwitch: 'on',
    PreprocessStatus: 'UnPreprocess',
    UserData: m.userData,
    ReferenceId: m.referenceId,
    Snapshots: { Snapshot: [] },
  });
}

const getVideoInfo: Action = (deps, p) => {
  const id = p.required('VideoId');
  const m = deps.media.get(id);
  if (m?.kind !== 'video') throw vodErrors.videoNotFound();
  return { Video: videoView(deps, m), mediaId: id };
};

function idList(p: VodParams, name: string): string[] {
  const ids = p
    .required(name)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (ids.length === 0 || ids.length > 20) throw vodErrors.invalidParameter(name);
  return ids;
}

/**
 * GetVideoInfos by `VideoIds` or `ReferenceIds` (comma lists of up to 20). As the generated SDKs
 * model it: `VideoList` is an array of `Video` objects, the ids not found come back in
 * `NonExistVideoIds` / `NonExistReferenceIds` (arrays of strings).
 */
const getVideoInfos: Action = (deps, p) => {
  const byReference = p.optional('VideoIds') === undefined && p.optional('ReferenceIds') !== undefined;
  const ids = idList(p, byReference ? 'ReferenceIds' : 'VideoIds');
  const found: Media[] = [];
  const missing: string[] = [];
  for (const id of ids) {
    const m = byReference ? deps.media.byReferenceId(id) : deps.media.get(id);
    if (m?.kind === 'video') found.push(m);
    else missing.push(id);
  }
  return {
    VideoList: found.map((m) => videoView(deps, m)),
    ...(byReference ? { NonExistReferenceIds: missing } : { NonExistVideoIds: missing }),
  };
};

const getImageInfo: Action = (deps, p) => {
  const id = p.required('ImageId');
  const m = deps.media.get(id);
  if (m?.kind !== 'image') throw vodErrors.imageNotFound();
  const url = objectUrl(deps, m);
  return {
    ImageInfo: compact({
      ImageId: m.id,
      Title: m.title,
      Description: m.description,
      CreationTime: isoSeconds(m.creationTime),
      ImageType: m.imageType,
      Tags: m.tags,
      CateId: m.cateId,
      StorageLocation: m.storageLocation,
      AppId: m.appId,
      RegionId: deps.region,
      Status: m.status,
      URL: url,
      Mezzanine: compact({ FileURL: url, OriginalFileName: m.fileName, FileSize: m.size }),
      UserData: m.userData,
    }),
    mediaId: id,
  };
};

/** DeleteVideo: removes media, object, pending uploads and upload credentials of each id. */
const deleteVideo: Action = (deps, p) => {
  const ids = idList(p, 'VideoIds');
  const missing: string[] = [];
  for (const id of ids) {
    const m = deps.media.get(id);
    if (m?.kind !== 'video') {
      missing.push(id);
      continue;
    }
    deps.media.delete(id);
    deps.sts.revokeMedia(id);
    for (const u of deps.store.uploadsOf(m.bucket, m.key)) deps.store.removeUpload(u);
    deps.store.deleteObject(m.bucket, m.key);
  }
  return { NonExistVideoIds: missing, ForbiddenVideoIds: [] };
};

/** Removes one media of `kind` with its object, pending uploads and upload credentials; false if unknown. */
function deleteMedia(deps: VodDeps, id: string, kind: 'image' | 'attached'): boolean {
  const m = deps.media.get(id);
  if (m?.kind !== kind) return false;
  deps.media.delete(id);
  deps.sts.revokeMedia(id);
  for (const u of deps.store.uploadsOf(m.bucket, m.key)) deps.store.removeUpload(u);
  deps.store.deleteObject(m.bucket, m.key);
  return true;
}

/** DeleteImage with `DeleteImageType=ImageId` (the only type the emulator serves) and `ImageIds`. */
const deleteImage: Action = (deps, p) => {
  if (p.required('DeleteImageType') !== 'ImageId') throw vodErrors.invalidParameter('DeleteImageType');
  for (const id of idList(p, 'ImageIds')) deleteMedia(deps, id, 'image');
  return {};
};

/** DeleteAttachedMedia: `MediaIds`; unknown ids come back in `NonExistMediaIds`. */
const deleteAttachedMedia: Action = (deps, p) => {
  const missing = idList(p, 'MediaIds').filter((id) => !deleteMedia(deps, id, 'attached'));
  return { NonExistMediaIds: missing };
};

export const vodActions: Readonly<Record<string, Action>> = {
  CreateUploadVideo: createUploadVideo,
  RefreshUploadVideo: refreshUploadVideo,
  CreateUploadImage: createUploadImage,
  CreateUploadAttachedMedia: createUploadAttachedMedia,
  GetVideoInfo: getVideoInfo,
  GetVideoInfos: getVideoInfos,
  GetImageInfo: getImageInfo,
  DeleteVideo: deleteVideo,
  DeleteImage: deleteImage,
  DeleteAttachedMedia: deleteAttachedMedia,
};

/** Called when an object completes: flips its media to UploadSucc/Normal and fires the callback. */
export function onObjectCompleted(deps: VodDeps, bucket: string, key: string, size: number): void {
  const media = deps.media.markUploaded(bucket, key, size);
  if (!media?.callback) return;
  const eventTime = isoSeconds(new Date());
  const url = objectUrl(deps, media);
  const extend = extendOf(media.userData);
  const event =
    media.kind === 'image'
      ? {
          EventTime: eventTime,
          EventType: 'ImageUploadComplete',
          ImageId: media.id,
          Status: 'success',
          FileURL: url,
          Size: size,
        }
      : {
          EventTime: eventTime,
          EventType: 'FileUploadComplete',
          VideoId: media.id,
          ...(media.kind === 'attached' ? { MediaId: media.id, BusinessType: media.businessType } : {}),
          Status: 'success',
          Size: size,
          FileUrl: url,
        };
  deps.callbacks.send(media.callback.url, extend === undefined ? event : { ...event, Extend: extend });
}

function extendOf(userData: string | undefined): string | undefined {
  if (!userData) return undefined;
  const extend = (JSON.parse(userData) as Record<string, unknown>).Extend;
  if (extend === undefined) return undefined;
  return typeof extend === 'string' ? extend : JSON.stringify(extend);
}
