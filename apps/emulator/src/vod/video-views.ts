import { isoSeconds } from '../util/time.js';
import type { Media } from './media-store.js';

/**
 * The two documented shapes of a video (VOD 2017-03-21 API reference and its generated SDK models):
 * GetVideoInfo's `Video` carries `RegionId`, `AuditStatus` and `Snapshots: {Snapshot: string[]}`;
 * an item of GetVideoInfos' `VideoList` has neither RegionId nor AuditStatus and `Snapshots: string[]`.
 * Empty fields are left out, as the service omits them.
 */

/** Fields of GetVideoInfo's `Video` the emulator can fill. */
export const VIDEO_INFO_FIELDS = [
  'VideoId',
  'Title',
  'Description',
  'Duration',
  'CoverURL',
  'Status',
  'CreationTime',
  'ModificationTime',
  'Size',
  'CateId',
  'CateName',
  'Tags',
  'TemplateGroupId',
  'StorageLocation',
  'RegionId',
  'AppId',
  'AuditStatus',
  'StorageClass',
  'DownloadSwitch',
  'UserData',
  'ReferenceId',
  'Snapshots',
] as const;

/** Fields of a GetVideoInfos `VideoList` item the emulator can fill. */
export const VIDEO_LIST_ITEM_FIELDS = VIDEO_INFO_FIELDS.filter(
  (f) => f !== 'RegionId' && f !== 'AuditStatus',
);

function compact(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

function common(m: Media): Record<string, unknown> {
  return {
    VideoId: m.id,
    Title: m.title,
    Description: m.description,
    // No transcoding here, so no duration is known; VOD reports 0 until its analysis ran.
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
    AppId: m.appId,
    StorageClass: 'Standard',
    DownloadSwitch: 'on',
    UserData: m.userData,
    ReferenceId: m.referenceId,
  };
}

/** GetVideoInfo's `Video`. */
export function videoInfoView(m: Media, region: string): Record<string, unknown> {
  return compact({ ...common(m), RegionId: region, AuditStatus: 'Init', Snapshots: { Snapshot: [] } });
}

/** One item of GetVideoInfos' `VideoList`. */
export function videoListItemView(m: Media): Record<string, unknown> {
  return compact({ ...common(m), Snapshots: [] });
}
