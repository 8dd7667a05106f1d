import { isoSeconds } from '../util/time.js';
import type { Media, MediaKind } from './media-store.js';
import type { VodDeps, VodResult } from './vod-actions.js';
import { vodErrors } from './vod-error.js';
import type { VodParams } from './vod-params.js';

/*
 * The VOD actions an app server of client uploads needs beyond upload credentials: the look-ups
 * that tell whether (and how much) a client uploaded, the Delete… of each media kind, and the
 * upload-complete events sent to the account's callback URL. Kept apart from vod-actions.ts.
 */

type Action = (deps: VodDeps, p: VodParams) => VodResult & { mediaId?: string };

function objectUrl(deps: VodDeps, media: Media): string {
  return `${deps.endpoint()}/${media.bucket}/${media.key.split('/').map(encodeURIComponent).join('/')}`;
}

function ids(p: VodParams, name: string): string[] {
  const list = p
    .required(name)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 0 || list.length > 20) throw vodErrors.invalidParameter(name);
  return list;
}

/** Removes the media, its object, its pending multipart uploads and its upload credentials. */
function removeMedia(deps: VodDeps, m: Media): void {
  deps.media.delete(m.id);
  for (const u of deps.store.uploadsOf(m.bucket, m.key)) deps.store.removeUpload(u);
  deps.store.deleteObject(m.bucket, m.key);
}

function deleteMany(deps: VodDeps, list: string[], kind: MediaKind): string[] {
  const missing: string[] = [];
  for (const id of list) {
    const m = deps.media.get(id);
    if (m?.kind !== kind) missing.push(id);
    else removeMedia(deps, m);
  }
  return missing;
}

/** GetMezzanineInfo: the uploaded source file of a video (its size is what the client sent). */
const getMezzanineInfo: Action = (deps, p) => {
  const id = p.required('VideoId');
  const m = deps.media.get(id);
  if (m?.kind !== 'video') throw vodErrors.videoNotFound();
  const uploaded = m.status !== 'Uploading';
  return {
    Mezzanine: {
      VideoId: m.id,
      FileName: m.fileName ?? m.key.split('/').pop(),
      Status: uploaded ? 'Normal' : 'Uploading',
      ...(uploaded ? { Size: m.size ?? 0, FileURL: objectUrl(deps, m) } : {}),
      CreationTime: isoSeconds(m.creationTime),
    },
    mediaId: id,
  };
};

/** GetAttachedMediaInfo by MediaIds (up to 20): found ones in AttachedMediaList, the rest in NonExistMediaIds. */
const getAttachedMediaInfo: Action = (deps, p) => {
  const found: Record<string, unknown>[] = [];
  const missing: string[] = [];
  for (const id of ids(p, 'MediaIds')) {
    const m = deps.media.get(id);
    if (m?.kind !== 'attached') {
      missing.push(id);
      continue;
    }
    found.push({
      MediaId: m.id,
      Title: m.title,
      BusinessType: m.businessType,
      Status: m.status === 'Uploading' ? 'Uploading' : 'Normal',
      URL: objectUrl(deps, m),
      StorageLocation: m.storageLocation,
      AppId: m.appId,
      RegionId: deps.region,
      CreationTime: isoSeconds(m.creationTime),
      ModificationTime: isoSeconds(m.modificationTime),
      ...(m.size === undefined ? {} : { FileSize: m.size }),
    });
  }
  return { AttachedMediaList: found, NonExistMediaIds: missing };
};

/** DeleteImage with DeleteImageType=ImageId (the other types, by URL or video, are not emulated). */
const deleteImage: Action = (deps, p) => {
  p.oneOf('DeleteImageType', ['ImageId'], true);
  const missing = deleteMany(deps, ids(p, 'ImageIds'), 'image');
  if (missing.length > 0) throw vodErrors.imageNotFound();
  return {};
};

const deleteAttachedMedia: Action = (deps, p) => {
  const missing = deleteMany(deps, ids(p, 'MediaIds'), 'attached');
  return { NonExistMediaIds: missing };
};

export const clientUploadActions: Readonly<Record<string, Action>> = {
  GetMezzanineInfo: getMezzanineInfo,
  GetAttachedMediaInfo: getAttachedMediaInfo,
  DeleteImage: deleteImage,
  DeleteAttachedMedia: deleteAttachedMedia,
};

/**
 * The upload-complete event VOD sends for a media whose object a client just completed (PutObject
 * or CompleteMultipartUpload, whoever the client), with the field names of each event's reference
 * (`FileUrl` for videos, `FileURL` for images and attached media).
 */
export function uploadCompleteEvent(deps: VodDeps, media: Media, size: number): Record<string, unknown> {
  const base = { EventTime: isoSeconds(new Date()), Status: 'success', Size: size };
  const url = objectUrl(deps, media);
  if (media.kind === 'image') {
    return { ...base, EventType: 'ImageUploadComplete', ImageId: media.id, FileURL: url, AppId: media.appId };
  }
  if (media.kind === 'attached') {
    return {
      ...base,
      EventType: 'AttachedMediaUploadComplete',
      MediaId: media.id,
      BusinessType: media.businessType,
      FileURL: url,
    };
  }
  return { ...base, EventType: 'FileUploadComplete', VideoId: media.id, FileUrl: url };
}
