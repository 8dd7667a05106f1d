import { z } from 'zod';
import type { VideoInfo } from './vod-types.js';

/** GetVideoInfo / GetVideoInfos bodies → `VideoInfo`. */

const videoSchema = z.looseObject({ VideoId: z.string().min(1), Status: z.string() });
/** A list VOD may send as an array or, XML-style, wrapped in an object (`{Video: [...]}` / `{Video: {...}}`). */
function listOf<T extends z.ZodType>(item: T, wrapper: string) {
  return z
    .union([z.array(item), z.looseObject({ [wrapper]: z.union([z.array(item), item]).optional() })])
    .nullish()
    .transform((v): z.infer<T>[] => {
      if (!v) return [];
      if (Array.isArray(v)) return v;
      const inner = (v as Record<string, unknown>)[wrapper] as z.infer<T> | z.infer<T>[] | undefined;
      return inner === undefined ? [] : Array.isArray(inner) ? inner : [inner];
    });
}
export const videoInfosSchema = z.looseObject({
  RequestId: z.string(),
  VideoList: listOf(videoSchema, 'Video'),
  NonExistReferenceIds: listOf(z.string(), 'ReferenceId'),
});
export function s(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}
export function n(value: unknown): number | null {
  const num =
    typeof value === 'number' ? value : typeof value === 'string' && value !== '' ? Number(value) : NaN;
  return Number.isFinite(num) ? num : null;
}

export function videoInfo(raw: z.infer<typeof videoSchema>): VideoInfo {
  const v = raw as Record<string, unknown> & { VideoId: string; Status: string };
  return {
    videoId: v.VideoId,
    status: v.Status,
    title: s(v.Title),
    description: s(v.Description),
    size: n(v.Size),
    duration: n(v.Duration),
    coverUrl: s(v.CoverURL),
    cateId: n(v.CateId),
    tags: s(v.Tags),
    templateGroupId: s(v.TemplateGroupId),
    storageLocation: s(v.StorageLocation),
    regionId: s(v.RegionId),
    appId: s(v.AppId),
    userData: s(v.UserData),
    referenceId: s(v.ReferenceId),
    creationTime: s(v.CreationTime),
    modificationTime: s(v.ModificationTime),
    raw: v,
  };
}
