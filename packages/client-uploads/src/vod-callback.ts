import { createHash, timingSafeEqual } from 'node:crypto';

/** X-VOD-SIGNATURE: md5 hex of `<callback URL>|<timestamp>|<private key>` (VOD's HTTP callback auth). */
export function vodCallbackSignature(url: string, timestamp: string, key: string): string {
  return createHash('md5').update(`${url}|${timestamp}|${key}`).digest('hex');
}

export type CallbackCheck = 'ok' | 'bad_signature' | 'stale';

export interface CallbackAuthInput {
  /** The URL as configured in VOD (what VOD signs), not what this request's Host says. */
  url: string;
  /** Current key first, then the previous one during a rotation. */
  keys: readonly string[];
  timestamp: string | undefined;
  signature: string | undefined;
  maxAgeSeconds: number;
  nowMs?: number;
}

/**
 * Verifies a VOD callback's headers: the signature against every key (constant time, no early exit),
 * then the timestamp's age in either direction (a clock ahead of ours is as suspect as an old one).
 */
export function checkVodCallback(i: CallbackAuthInput): CallbackCheck {
  const ts = i.timestamp ?? '';
  const sig = (i.signature ?? '').toLowerCase();
  if (!/^\d{1,12}$/.test(ts) || !/^[0-9a-f]{32}$/.test(sig)) return 'bad_signature';
  const given = Buffer.from(sig, 'hex');
  let match = false;
  for (const key of i.keys) {
    const expected = Buffer.from(vodCallbackSignature(i.url, ts, key), 'hex');
    if (timingSafeEqual(expected, given)) match = true;
  }
  if (!match) return 'bad_signature';
  const ageMs = Math.abs((i.nowMs ?? Date.now()) - Number(ts) * 1000);
  return ageMs > i.maxAgeSeconds * 1000 ? 'stale' : 'ok';
}

export type VodEventType = 'FileUploadComplete' | 'ImageUploadComplete' | 'AttachedMediaUploadComplete';
export const VOD_UPLOAD_EVENTS: readonly VodEventType[] = [
  'FileUploadComplete',
  'ImageUploadComplete',
  'AttachedMediaUploadComplete',
];

/** The media an upload event names (VideoId / ImageId / MediaId or AttachedMediaId), or null. */
export function eventMediaId(body: Record<string, unknown>): { type: string; mediaId: string | null } {
  const type = typeof body.EventType === 'string' ? body.EventType : 'unknown';
  const pick = (...names: string[]) => {
    for (const n of names) {
      const v = body[n];
      if (typeof v === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(v)) return v;
    }
    return null;
  };
  if (type === 'ImageUploadComplete') return { type, mediaId: pick('ImageId') };
  if (type === 'AttachedMediaUploadComplete') return { type, mediaId: pick('MediaId', 'AttachedMediaId') };
  if (type === 'FileUploadComplete') return { type, mediaId: pick('VideoId', 'MediaId') };
  return { type: 'other', mediaId: null };
}
