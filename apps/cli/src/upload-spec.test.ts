import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration } from './job-format.js';
import { buildUploadSpec, UsageError } from './upload-spec.js';

describe('buildUploadSpec', () => {
  it('resolves paths, keeps URLs and derives the title', () => {
    expect(buildUploadSpec('../b/clip.final.mov', { type: 'audio' }, '/srv/a')).toEqual({
      source: { type: 'file', path: '/srv/b/clip.final.mov' },
      media: { type: 'audio', title: 'clip.final' },
      target: { type: 'vod' },
    });
    expect(
      buildUploadSpec('https://h.example/', { type: 'image', title: 'T', fileName: 'x.png' }, '/'),
    ).toEqual({
      source: { type: 'url', url: 'https://h.example/' },
      media: { type: 'image', title: 'T', fileName: 'x.png' },
      target: { type: 'vod' },
    });
  });

  it('refuses inconsistent flags', () => {
    expect(() => buildUploadSpec('a', { type: 'video', ossBucket: 'b' }, '/')).toThrow(UsageError);
    expect(() => buildUploadSpec('a', { type: 'video', businessType: 'subtitle' }, '/')).toThrow(UsageError);
    expect(() => buildUploadSpec('s3://b/k', { type: 'video' }, '/')).toThrow(/only http and https/);
  });
});

describe('formatting', () => {
  it('formats sizes and durations', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(5 * 1024 ** 3)).toBe('5.0 GiB');
    expect(formatDuration(7)).toBe('7s');
    expect(formatDuration(65)).toBe('1m05s');
    expect(formatDuration(3725)).toBe('1h02m05s');
  });
});
