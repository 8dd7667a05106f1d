import type { SourceStat } from '@mediaferry/core';
import type { PartPlan } from './part-planner.js';

/*
 * Fingerprints are opaque to the engine, except for two facts it needs on resume: whether two
 * fingerprints may name the same content, and whether they carry a validator that vouches for the
 * bytes. Only URL fingerprints need reading for that; their format is `@mediaferry/sources`'
 * `url:v1:{"etag","lastModified","size"}` (url-response.ts, `urlFingerprint`). Any other fingerprint
 * (files: dev, inode, size, mtime) is compared as a string and trusted.
 */
const URL_PREFIX = 'url:v1:';

interface UrlIdentity {
  etag: string | null;
  lastModified: string | null;
  size: number | null;
}

function parseUrlIdentity(fingerprint: string): UrlIdentity | null {
  if (!fingerprint.startsWith(URL_PREFIX)) return null;
  try {
    const v = JSON.parse(fingerprint.slice(URL_PREFIX.length)) as Record<string, unknown>;
    const str = (x: unknown) => (typeof x === 'string' && x.length > 0 ? x : null);
    return {
      etag: str(v.etag),
      lastModified: str(v.lastModified),
      size: typeof v.size === 'number' ? v.size : null,
    };
  } catch {
    return { etag: null, lastModified: null, size: null }; // unreadable: vouches for nothing
  }
}

/** A validator both fingerprints carry (strong ETag, else Last-Modified): null when there is none. */
function sharedValidator(a: UrlIdentity, b: UrlIdentity): 'etag' | 'lastModified' | null {
  if (a.etag !== null && b.etag !== null) return 'etag';
  if (a.lastModified !== null && b.lastModified !== null) return 'lastModified';
  return null;
}

/**
 * Whether the source seen now may be the one a checkpoint recorded. A URL's size may go from unknown
 * to known (a chunked CDN miss, then a hit with Content-Length) when the stored plan is a stream's; the
 * validators then decide, as the source itself decides on every open (`identitiesMatch`). Without a
 * shared validator this is "no evidence of change", which `needsContentCheck` makes the engine verify.
 */
export function sameSource(
  recorded: { fingerprint: string; totalSize: number | null; plan: PartPlan },
  now: SourceStat,
): boolean {
  if (recorded.fingerprint === now.fingerprint && recorded.totalSize === now.size) return true;
  const a = parseUrlIdentity(recorded.fingerprint);
  const b = parseUrlIdentity(now.fingerprint);
  if (a === null || b === null) return false;
  if (recorded.totalSize !== now.size && !(recorded.totalSize === null && recorded.plan.kind === 'growing'))
    return false;
  if (a.size !== null && b.size !== null && a.size !== b.size) return false;
  const shared = sharedValidator(a, b);
  if (shared === 'etag') return a.etag === b.etag;
  if (shared === 'lastModified') {
    const ta = Date.parse(a.lastModified!);
    const tb = Date.parse(b.lastModified!);
    return Number.isNaN(ta) || Number.isNaN(tb) ? a.lastModified === b.lastModified : ta === tb;
  }
  return true;
}

/**
 * Whether bytes read again from the source must be checked against the recorded part CRCs: the source
 * cannot seek (it reads skipped bytes anyway, so the check costs only CPU), or it is a URL whose
 * fingerprints share no validator, so nothing but the bytes can tell two responses apart.
 */
export function needsContentCheck(recordedFingerprint: string, now: SourceStat): boolean {
  if (!now.seekable) return true;
  const a = parseUrlIdentity(recordedFingerprint);
  const b = parseUrlIdentity(now.fingerprint);
  if (a === null && b === null) return false;
  return a === null || b === null || sharedValidator(a, b) === null;
}
