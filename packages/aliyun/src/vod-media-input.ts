import type { AttachedMedia, ImageMedia, VideoMedia } from '@mediaferry/core';
import type {
  CreateUploadAttachedMediaInput,
  CreateUploadImageInput,
  CreateUploadVideoInput,
} from './vod-types.js';

/** Turns a job's `media` (CONTRACT §1) into the VOD Create… request for it. */

/** `clip.MP4` → `mp4`; null without an extension. */
export function fileExtension(fileName: string): string | null {
  const match = /\.([A-Za-z0-9]{1,10})$/.exec(fileName);
  return match?.[1] ? match[1].toLowerCase() : null;
}

function baseName(fileName: string): string {
  return fileName.replace(/\.[^.]*$/, '') || fileName;
}

export function videoInput(media: VideoMedia, fileName: string, size: number | null): CreateUploadVideoInput {
  const input: CreateUploadVideoInput = { title: media.title, fileName: media.fileName ?? fileName };
  if (size !== null) input.fileSize = size;
  if (media.description !== undefined) input.description = media.description;
  if (media.coverUrl !== undefined) input.coverUrl = media.coverUrl;
  if (media.cateId !== undefined) input.cateId = media.cateId;
  if (media.tags !== undefined) input.tags = media.tags;
  if (media.templateGroupId !== undefined) input.templateGroupId = media.templateGroupId;
  if (media.workflowId !== undefined) input.workflowId = media.workflowId;
  if (media.storageLocation !== undefined) input.storageLocation = media.storageLocation;
  if (media.appId !== undefined) input.appId = media.appId;
  if (media.userData !== undefined) input.userData = media.userData;
  if (media.referenceId !== undefined) input.referenceId = media.referenceId;
  return input;
}

export function imageInput(media: ImageMedia, fileName: string): CreateUploadImageInput {
  const name = media.fileName ?? fileName;
  const input: CreateUploadImageInput = {
    imageType: media.imageType ?? 'default',
    originalFileName: name,
    title: media.title ?? baseName(name),
  };
  const ext = fileExtension(name);
  if (ext !== null) input.imageExt = ext;
  if (media.description !== undefined) input.description = media.description;
  if (media.cateId !== undefined) input.cateId = media.cateId;
  if (media.tags !== undefined) input.tags = media.tags;
  if (media.storageLocation !== undefined) input.storageLocation = media.storageLocation;
  if (media.appId !== undefined) input.appId = media.appId;
  if (media.userData !== undefined) input.userData = media.userData;
  return input;
}

export function attachedInput(
  media: AttachedMedia,
  fileName: string,
  size: number | null,
): CreateUploadAttachedMediaInput {
  const name = media.fileName ?? fileName;
  const input: CreateUploadAttachedMediaInput = {
    businessType: media.businessType,
    fileName: name,
    title: media.title ?? baseName(name),
  };
  const ext = media.fileExtension ?? fileExtension(name);
  if (ext !== null) input.mediaExt = ext.toLowerCase();
  if (size !== null) input.fileSize = size;
  if (media.description !== undefined) input.description = media.description;
  if (media.cateId !== undefined) input.cateIds = [media.cateId];
  if (media.tags !== undefined) input.tags = media.tags;
  if (media.storageLocation !== undefined) input.storageLocation = media.storageLocation;
  if (media.appId !== undefined) input.appId = media.appId;
  if (media.userData !== undefined) input.userData = media.userData;
  return input;
}
