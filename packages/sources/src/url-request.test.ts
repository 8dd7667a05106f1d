import { describe, expect, it } from 'vitest';
import { describeUrl, sanitizeHeaders, splitCredentials } from './url-request.js';

describe('url-request helpers', () => {
  it('drops reserved and hop-by-hop headers, lower-cases the rest', () => {
    expect(
      sanitizeHeaders({
        Authorization: 'Bearer t',
        'X-Custom': 'y',
        Host: 'evil',
        Range: 'bytes=5-',
        'Transfer-Encoding': 'chunked',
        Connection: 'close',
        'Accept-Encoding': 'gzip',
      }),
    ).toEqual({ authorization: 'Bearer t', 'x-custom': 'y' });
  });

  it('moves userinfo into Basic auth unless an Authorization header exists', () => {
    const headers: Record<string, string> = {};
    const url = splitCredentials(new URL('https://al%20ice:s%3Acret@h.example/a?q=1'), headers);
    expect(url.href).toBe('https://h.example/a?q=1');
    expect(headers.authorization).toBe(`Basic ${Buffer.from('al ice:s:cret').toString('base64')}`);
    const own = { authorization: 'Bearer mine' };
    splitCredentials(new URL('https://u:p@h.example/'), own);
    expect(own.authorization).toBe('Bearer mine');
  });

  it('decodes userinfo like a browser: malformed escapes stay as they are instead of throwing', () => {
    const headers: Record<string, string> = {};
    splitCredentials(new URL('https://a%ZZ%20b:j%C3%B6rg%@h.example/'), headers);
    expect(headers.authorization).toBe(`Basic ${Buffer.from('a%ZZ b:jörg%').toString('base64')}`);
  });

  it('describes a URL without credentials, query or fragment', () => {
    expect(describeUrl(new URL('https://u:p@h.example:8443/v/a.mp4?sig=secret#x'))).toBe(
      'https://h.example:8443/v/a.mp4',
    );
  });
});
