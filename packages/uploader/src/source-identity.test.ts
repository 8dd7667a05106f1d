import type { SourceStat } from '@mediaferry/core';
import { describe, expect, it } from 'vitest';
import { planParts } from './part-planner.js';
import { needsContentCheck, sameSource } from './source-identity.js';

const url = (etag: string | null, lastModified: string | null, size: number | null) =>
  `url:v1:${JSON.stringify({ etag, lastModified, size })}`;
const stat = (fingerprint: string, size: number | null, seekable = true): SourceStat => ({
  fingerprint,
  size,
  seekable,
  fileName: 'a.mp4',
  contentType: null,
});
const opts = { partSize: 8 * 1024 ** 2, maxSourceBytes: 1024 ** 3 };
const recorded = (fingerprint: string, totalSize: number | null) => ({
  fingerprint,
  totalSize,
  plan: planParts(totalSize, opts),
});

describe('sameSource', () => {
  it('compares file fingerprints and sizes exactly', () => {
    expect(sameSource(recorded('file:v1:1:2:10:5', 10), stat('file:v1:1:2:10:5', 10))).toBe(true);
    expect(sameSource(recorded('file:v1:1:2:10:5', 10), stat('file:v1:1:2:10:6', 10))).toBe(false);
  });

  it('lets a stream size become known when the validators agree', () => {
    expect(sameSource(recorded(url('"e"', null, null), null), stat(url('"e"', null, 99), 99))).toBe(true);
    expect(sameSource(recorded(url('"e"', null, null), null), stat(url('"f"', null, 99), 99))).toBe(false);
    // A known size never changes, and never becomes unknown.
    expect(sameSource(recorded(url('"e"', null, 98), 98), stat(url('"e"', null, 99), 99))).toBe(false);
    expect(sameSource(recorded(url('"e"', null, 98), 98), stat(url('"e"', null, null), null))).toBe(false);
  });

  it('compares Last-Modified as dates when there is no shared ETag', () => {
    const a = url(null, 'Sun, 22 Nov 2026 01:00:00 GMT', null);
    expect(sameSource(recorded(a, null), stat(url('"x"', 'Sun, 22 Nov 2026 01:00:00 +0000', 5), 5))).toBe(
      true,
    );
    expect(sameSource(recorded(a, null), stat(url(null, 'Sun, 22 Nov 2026 01:00:01 GMT', 5), 5))).toBe(false);
  });
});

describe('needsContentCheck', () => {
  it('checks streams that cannot seek and URLs whose fingerprints share no validator', () => {
    expect(needsContentCheck('file:v1:1:2:3:4', stat('file:v1:1:2:3:4', 3))).toBe(false);
    expect(needsContentCheck(url('"e"', null, 3), stat(url('"e"', null, 3), 3))).toBe(false);
    expect(needsContentCheck(url('"e"', null, 3), stat(url('"e"', null, 3), 3, false))).toBe(true);
    expect(needsContentCheck(url(null, null, 3), stat(url(null, null, 3), 3))).toBe(true);
    expect(needsContentCheck(url('"e"', null, 3), stat(url(null, 'Sun, 22 Nov 2026', 3), 3))).toBe(true);
  });
});
