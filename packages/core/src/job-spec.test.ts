import { describe, expect, it } from 'vitest';
import { isJobId, newJobId } from './ids.js';
import { jobSpecSchema } from './job-spec.js';

describe('jobSpecSchema', () => {
  it('accepts the contract example and fills defaults', () => {
    const spec = jobSpecSchema.parse({
      source: { type: 'file', path: '/srv/media/a.mp4' },
      media: { type: 'video', title: 'A', tags: ['x'], cateId: 1, userData: {} },
    });
    expect(spec.target).toEqual({ type: 'vod' });
    expect(spec.priority).toBe(0);
  });

  it('refuses unknown fields, relative paths, bad schemes and a missing title', () => {
    const bad = [
      { source: { type: 'file', path: 'a.mp4' }, media: { type: 'video', title: 'A' } },
      { source: { type: 'url', url: 'file:///etc/passwd' }, media: { type: 'video', title: 'A' } },
      { source: { type: 'url', url: 'https://x/y.mp4' }, media: { type: 'video' } },
      { source: { type: 'file', path: '/a.mp4' }, media: { type: 'video', title: 'A' }, extra: 1 },
      { source: { type: 'file', path: '/a.srt' }, media: { type: 'attached' } },
      { source: { type: 'url', url: 'https://x/y', headers: { 'X-A': 'a\r\nb' } }, media: { type: 'image' } },
    ];
    for (const input of bad)
      expect(jobSpecSchema.safeParse(input).success, JSON.stringify(input)).toBe(false);
  });

  it('names the offending field', () => {
    const result = jobSpecSchema.safeParse({
      source: { type: 'file', path: '/a' },
      media: { type: 'video', title: 3 },
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['media', 'title']);
  });
});

describe('job ids', () => {
  it('are time-sortable and recognisable', () => {
    const a = newJobId(1_700_000_000_000);
    const b = newJobId(1_700_000_000_001);
    expect(isJobId(a)).toBe(true);
    expect(a < b).toBe(true);
    expect(isJobId('job_../../etc')).toBe(false);
  });
});
