import { describe, expect, it } from 'vitest';
import { DEFAULT_FILE_NAME, inferFileName, normalizeContentType, sanitizeFileName } from './file-name.js';

describe('inferFileName', () => {
  it('prefers Content-Disposition (decoded filename*) over the URL', () => {
    const r = inferFileName({
      contentDisposition: `attachment; filename="fallback.mp4"; filename*=UTF-8''%E4%B8%AD%E6%96%87.mp4`,
      url: 'https://cdn.example.com/v/other.mov',
      contentType: 'video/mp4',
    });
    expect(r).toEqual({ fileName: '中文.mp4', contentType: 'video/mp4' });
  });

  it('keeps only the last segment of a Content-Disposition filename', () => {
    expect(
      inferFileName({ contentDisposition: 'attachment; filename="../../etc/passwd.txt"' }).fileName,
    ).toBe('passwd.txt');
  });

  it('ignores an unparsable Content-Disposition and falls back to the URL path, decoded', () => {
    const r = inferFileName({
      contentDisposition: 'attachment; filename="',
      url: 'https://h/a/My%20Clip.webm?x=1',
    });
    expect(r).toEqual({ fileName: 'My Clip.webm', contentType: 'video/webm' });
  });

  it('adds an extension from the Content-Type when the name has none', () => {
    expect(inferFileName({ url: 'https://h/stream/video', contentType: 'video/mp4; codecs=avc1' })).toEqual({
      fileName: 'video.mp4',
      contentType: 'video/mp4',
    });
    expect(inferFileName({ url: 'https://h/x/movie', contentType: 'video/quicktime' }).fileName).toBe(
      'movie.mov',
    );
    expect(inferFileName({ url: 'https://h/x/song', contentType: 'audio/mpeg' }).fileName).toBe('song.mp3');
  });

  it('falls back to upload.<ext> and finally upload.bin', () => {
    expect(inferFileName({ url: 'https://h/', contentType: 'image/jpeg' }).fileName).toBe('upload.jpg');
    expect(inferFileName({ url: 'https://h/' })).toEqual({
      fileName: DEFAULT_FILE_NAME,
      contentType: 'application/octet-stream',
    });
    expect(inferFileName({})).toEqual({ fileName: 'upload.bin', contentType: 'application/octet-stream' });
  });

  it('appends .bin when neither the name nor the type gives an extension', () => {
    expect(inferFileName({ path: '/srv/media/README' })).toEqual({
      fileName: 'README.bin',
      contentType: 'application/octet-stream',
    });
    expect(inferFileName({ path: '/srv/media/raw', contentType: 'application/octet-stream' }).fileName).toBe(
      'raw.bin',
    );
  });

  it('uses the local base name and infers the type from it', () => {
    expect(inferFileName({ path: '/srv/media/a.mp4' })).toEqual({
      fileName: 'a.mp4',
      contentType: 'video/mp4',
    });
  });

  it('prefers a type inferred from the name over application/octet-stream', () => {
    expect(
      inferFileName({ url: 'https://h/a.mkv', contentType: 'application/octet-stream' }).contentType,
    ).toBe('video/x-matroska');
  });
});

describe('sanitizeFileName', () => {
  it('removes separators, control characters, leading and trailing dots', () => {
    expect(sanitizeFileName('..\u0000a\\b\nc.mp4.')).toBe('_a_b_c.mp4');
    expect(sanitizeFileName('...')).toBe('');
  });

  it('caps the length at 255 and keeps the extension', () => {
    const long = `${'x'.repeat(400)}.mp4`;
    const name = sanitizeFileName(long);
    expect(name).toHaveLength(255);
    expect(name.endsWith('.mp4')).toBe(true);
  });
});

describe('normalizeContentType', () => {
  it('drops parameters and refuses garbage', () => {
    expect(normalizeContentType('Video/MP4; charset=x')).toBe('video/mp4');
    expect(normalizeContentType('nonsense')).toBeNull();
    expect(normalizeContentType(undefined)).toBeNull();
  });
});
