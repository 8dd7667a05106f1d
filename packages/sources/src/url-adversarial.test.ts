import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import {
  SourceChangedError,
  SourceForbiddenError,
  SourceProtocolError,
  type SourceReader,
  SourceTooLargeError,
} from '@mediaferry/core';
import type { Agent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGuardedDispatcher } from './ssrf-guard.js';
import {
  etagOf,
  type Handler,
  mediaHandler,
  startServer,
  type TestServer,
} from './test-support/http-server.js';
import { UrlSource } from './url.source.js';

/** Adversarial review of URL sources: hostile redirects, headers, encodings and ranges from real servers. */

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

async function readAll(reader: SourceReader, chunk = 64 * 1024): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (;;) {
    const buf = Buffer.alloc(chunk);
    const n = await reader.read(buf);
    parts.push(buf.subarray(0, n));
    if (n < chunk) return Buffer.concat(parts);
  }
}

let servers: TestServer[];
let open: Agent;
let data: Buffer;

beforeEach(() => {
  servers = [];
  open = createGuardedDispatcher({ allowPrivate: true });
  data = randomBytes(300_000);
});

afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await open.close();
});

async function serve(handler: Handler, host?: string): Promise<TestServer> {
  const server = await startServer(handler, host);
  servers.push(server);
  return server;
}

describe('hostile redirects (only 127.0.0.1 is excepted; targets listen on 127.0.0.2)', () => {
  let strict: Agent;
  let target: TestServer;

  beforeEach(async () => {
    strict = createGuardedDispatcher({ allowedCidrs: ['127.0.0.1/32'] });
    target = await serve(mediaHandler({ data }), '127.0.0.2');
  });

  afterEach(async () => {
    await strict.close();
  });

  const locations = (p: number) => [
    `//127.0.0.2:${p}/a.mp4`,
    `http://user@127.0.0.2:${p}/a.mp4`,
    `http://user:pw@127.0.0.2:${p}/a.mp4`,
    `http://[::ffff:127.0.0.2]:${p}/a.mp4`,
    `http://[::ffff:7f00:2]:${p}/a.mp4`,
    `http://0x7f000002:${p}/a.mp4`,
    `http://127.0.0.2.:${p}/a.mp4`,
    `HTTP://127.0.0.2:${p}/a.mp4`,
    `http:/\\127.0.0.2:${p}/a.mp4`,
    `\\\\127.0.0.2:${p}/a.mp4`,
  ];

  it('a redirect to a forbidden address in any spelling is refused without connecting', async () => {
    for (const location of locations(target.port)) {
      const first = await serve((_req, res) => res.writeHead(302, { location }).end());
      const src = new UrlSource(`${first.url}/start`, { dispatcher: strict, maxBytes: 1 << 20 });
      await expect(src.open({ start: 0 }), location).rejects.toBeInstanceOf(SourceForbiddenError);
      await expect(src.stat(), location).rejects.toBeInstanceOf(SourceForbiddenError);
      expect(target.connections, location).toBe(0);
    }
  });

  it('a relative redirect stays on the (allowed) origin', async () => {
    const first = await serve((req, res) => {
      if (req.url === '/start') return void res.writeHead(301, { location: 'files/../a.mp4' }).end();
      mediaHandler({ data })(req, res);
    });
    const reader = await new UrlSource(`${first.url}/start`, { dispatcher: strict, maxBytes: 1 << 20 }).open({
      start: 0,
    });
    expect(sha256(await readAll(reader))).toBe(sha256(data));
    await reader.close();
    expect(first.requests.map((r) => r.url)).toEqual(['/start', '/a.mp4']);
  });

  it('a redirect loop stops after 5 hops; a 30x without Location is a protocol error', async () => {
    const loop = await serve((_req, res) => res.writeHead(307, { location: '/again' }).end());
    await expect(
      new UrlSource(`${loop.url}/x`, { dispatcher: strict, maxBytes: 1 }).open({ start: 0 }),
    ).rejects.toMatchObject({ code: 'SOURCE_PROTOCOL', details: { reason: 'TOO_MANY_REDIRECTS' } });
    expect(loop.requests.length).toBe(6);
    const bare = await serve((_req, res) => res.writeHead(302).end());
    await expect(
      new UrlSource(`${bare.url}/x`, { dispatcher: strict, maxBytes: 1 }).open({ start: 0 }),
    ).rejects.toBeInstanceOf(SourceProtocolError);
  });

  it('a malformed userinfo in a redirect is a typed error, not a URIError', async () => {
    const first = await serve((_req, res) =>
      res.writeHead(302, { location: 'http://a%ZZ@127.0.0.1:1/' }).end(),
    );
    const err = await new UrlSource(`${first.url}/x`, { dispatcher: strict, maxBytes: 1 })
      .open({ start: 0 })
      .catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(URIError);
    expect(err).toHaveProperty('code');
  });
});

describe('job headers cannot inject or override', () => {
  it('CR/LF in a header value is refused before anything is sent', async () => {
    const server = await serve(mediaHandler({ data }));
    const src = new UrlSource(`${server.url}/a.mp4`, {
      dispatcher: open,
      maxBytes: 1 << 20,
      headers: { 'X-Evil': 'a\r\nX-Injected: 1' },
    });
    await expect(src.open({ start: 0 })).rejects.toBeInstanceOf(SourceProtocolError);
    expect(server.requests.some((r) => r.headers['x-injected'] !== undefined)).toBe(false);
  });

  it('Host, Range, Accept-Encoding, framing headers from the job are ignored in any case', async () => {
    const server = await serve(mediaHandler({ data }));
    const src = new UrlSource(`${server.url}/a.mp4`, {
      dispatcher: open,
      maxBytes: 1 << 20,
      headers: {
        HOST: 'metadata.internal',
        rAnGe: 'bytes=0-0',
        'If-Range': '"x"',
        'ACCEPT-ENCODING': 'gzip',
        'Content-Length': '5',
        'Transfer-Encoding': 'chunked',
        Expect: '100-continue',
        'X-Ok': 'yes',
      },
    });
    const reader = await src.open({ start: 0 });
    expect(sha256(await readAll(reader))).toBe(sha256(data));
    await reader.close();
    const sent = server.requests.at(-1)?.headers;
    expect(sent).toMatchObject({
      host: `127.0.0.1:${server.port}`,
      'accept-encoding': 'identity',
      'x-ok': 'yes',
    });
    expect(sent?.range).toBeUndefined();
    expect(sent?.['if-range']).toBeUndefined();
    expect(sent?.expect).toBeUndefined();
  });

  it('a malformed userinfo in the source URL is a typed error, not a URIError', () => {
    const make = () => new UrlSource('http://a%ZZ:b@127.0.0.1:1/', { dispatcher: open, maxBytes: 1 });
    expect(make).not.toThrow(URIError);
  });
});

describe('encodings', () => {
  it('a server that compresses anyway: the bytes are the wire bytes, counted against Content-Length', async () => {
    const gz = gzipSync(data);
    const server = await serve((req, res) => {
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const start = range ? Number(range[1]) : 0;
      const headers: Record<string, string> = {
        'content-encoding': 'gzip',
        'content-type': 'video/mp4',
        etag: etagOf(gz),
        'accept-ranges': 'bytes',
        'content-length': String(gz.length - start),
      };
      if (range) headers['content-range'] = `bytes ${start}-${gz.length - 1}/${gz.length}`;
      res.writeHead(range ? 206 : 200, headers).end(req.method === 'HEAD' ? undefined : gz.subarray(start));
    });
    const src = new UrlSource(`${server.url}/a.mp4`, { dispatcher: open, maxBytes: 1 << 20 });
    const st = await src.stat();
    expect(st.size).toBe(gz.length);
    const reader = await src.open({ start: 0, expectedFingerprint: st.fingerprint });
    const whole = await readAll(reader);
    await reader.close();
    expect(whole.length).toBe(gz.length); // never inflated behind our back
    expect(sha256(whole)).toBe(sha256(gz));
    const resumed = await src.open({ start: 1000, expectedFingerprint: st.fingerprint });
    expect(sha256(Buffer.concat([gz.subarray(0, 1000), await readAll(resumed)]))).toBe(sha256(gz));
    await resumed.close();
    expect(server.requests.every((r) => r.headers['accept-encoding'] === 'identity')).toBe(true);
  });
});

describe('hostile ranges and lengths', () => {
  const fixed =
    (status: number, headers: Record<string, string>, body: Buffer = Buffer.alloc(0)): Handler =>
    (req, res) => {
      if (req.method === 'HEAD') {
        return void res
          .writeHead(200, {
            etag: etagOf(data),
            'content-length': String(data.length),
            'accept-ranges': 'bytes',
          })
          .end();
      }
      res.writeHead(status, headers).end(body);
    };

  const openAt = async (handler: Handler, start: number, maxBytes = 1 << 20) => {
    const server = await serve(handler);
    const src = new UrlSource(`${server.url}/a.mp4`, { dispatcher: open, maxBytes });
    const st = await src.stat();
    return src.open({ start, expectedFingerprint: st.fingerprint });
  };

  it('206 with a different total is SOURCE_CHANGED', async () => {
    const body = data.subarray(100);
    await expect(
      openAt(
        fixed(
          206,
          { etag: etagOf(data), 'content-range': `bytes 100-${data.length}/${data.length + 1}` },
          body,
        ),
        100,
      ),
    ).rejects.toBeInstanceOf(SourceChangedError);
  });

  it('206 with a different ETag is SOURCE_CHANGED', async () => {
    const body = data.subarray(100);
    await expect(
      openAt(
        fixed(206, { etag: '"other"', 'content-range': `bytes 100-${data.length - 1}/${data.length}` }, body),
        100,
      ),
    ).rejects.toBeInstanceOf(SourceChangedError);
  });

  it.each([
    ['no Content-Range', {}],
    ['a malformed Content-Range', { 'content-range': 'bytes=100-200/300' }],
    ['an unsatisfied-range form', { 'content-range': `bytes */${300_000}` }],
    ['last before first', { 'content-range': 'bytes 100-50/300000' }],
    ['last beyond total', { 'content-range': 'bytes 100-300000/300000' }],
    ['multipart/byteranges', { 'content-type': 'multipart/byteranges; boundary=x' }],
    ['a start after the requested byte', { 'content-range': 'bytes 101-299999/300000' }],
  ])('206 with %s is refused', async (_what, headers) => {
    await expect(
      openAt(fixed(206, { etag: etagOf(data), ...headers }, data.subarray(100)), 100),
    ).rejects.toMatchObject({
      code: expect.stringMatching(/^SOURCE_(PROTOCOL|CHANGED)$/),
    });
  });

  it('206 whose Content-Length disagrees with its Content-Range is refused', async () => {
    await expect(
      openAt(
        fixed(
          206,
          {
            etag: etagOf(data),
            'content-range': `bytes 100-${data.length - 1}/${data.length}`,
            'content-length': '10',
          },
          data.subarray(100, 110),
        ),
        100,
      ),
    ).rejects.toBeInstanceOf(SourceProtocolError);
  });

  it('206 to a request without Range is refused', async () => {
    await expect(
      openAt(fixed(206, { 'content-range': `bytes 0-${data.length - 1}/${data.length}` }, data), 0),
    ).rejects.toBeInstanceOf(SourceProtocolError);
  });

  it('a 206 body longer than its Content-Range is refused while streaming', async () => {
    // Chunked, so the HTTP layer cannot cut it: the reader must.
    const server = await serve((req, res) => {
      if (req.method === 'HEAD') {
        return void res.writeHead(200, { etag: etagOf(data), 'content-length': String(data.length) }).end();
      }
      res.writeHead(206, {
        etag: etagOf(data),
        'content-range': `bytes 100-${data.length - 1}/${data.length}`,
      });
      res.write(data.subarray(100));
      res.end(Buffer.alloc(5000));
    });
    const src = new UrlSource(`${server.url}/a.mp4`, { dispatcher: open, maxBytes: 1 << 20 });
    const reader = await src.open({ start: 100, expectedFingerprint: (await src.stat()).fingerprint });
    const got = await readAll(reader).catch((e: unknown) => e);
    // Either the extra bytes are refused, or exactly the announced range is returned and the rest ignored.
    if (Buffer.isBuffer(got)) expect(sha256(got)).toBe(sha256(data.subarray(100)));
    else expect(got).toBeInstanceOf(SourceProtocolError);
    await reader.close();
  });

  it('a 200 with a Content-Length over the limit is refused before reading; a chunked one while streaming', async () => {
    const big = randomBytes(64 * 1024);
    await expect(
      openAt(fixed(200, { 'content-length': String(big.length) }, big), 0, 1000),
    ).rejects.toBeInstanceOf(SourceTooLargeError);
    const server = await serve((_req, res) => {
      res.writeHead(200);
      res.end(big);
    });
    const reader = await new UrlSource(`${server.url}/x`, { dispatcher: open, maxBytes: 1000 }).open({
      start: 0,
    });
    await expect(readAll(reader, 100)).rejects.toBeInstanceOf(SourceTooLargeError);
    expect(reader.position).toBeLessThanOrEqual(1000);
    await reader.close();
  });

  it('a resumed 200 that is chunked but longer than the source was is SOURCE_CHANGED, not silently longer', async () => {
    // stat() learnt the size from HEAD; the resumed GET ignores Range and streams more than that size.
    const longer = Buffer.concat([data, randomBytes(1000)]);
    const server = await serve((req, res) => {
      if (req.method === 'HEAD') {
        return void res.writeHead(200, { etag: etagOf(data), 'content-length': String(data.length) }).end();
      }
      res.writeHead(200, { etag: etagOf(data) }); // chunked: no length to compare
      res.end(longer);
    });
    const src = new UrlSource(`${server.url}/a.mp4`, { dispatcher: open, maxBytes: 1 << 20 });
    const st = await src.stat();
    const reader = await src.open({ start: 10, expectedFingerprint: st.fingerprint });
    await expect(readAll(reader)).rejects.toMatchObject({
      code: expect.stringMatching(/^SOURCE_(CHANGED|PROTOCOL)$/),
    });
    await reader.close();
  });
});
