import { createHash, randomBytes } from 'node:crypto';
import {
  AbortError,
  SourceChangedError,
  SourceForbiddenError,
  SourceNotFoundError,
  SourceProtocolError,
  type SourceReader,
  SourceTooLargeError,
  SourceUnavailableError,
} from '@mediaferry/core';
import type { Agent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGuardedDispatcher } from './ssrf-guard.js';
import {
  etagOf,
  type Handler,
  type MediaOptions,
  mediaHandler,
  startServer,
  type TestServer,
} from './test-support/http-server.js';
import { UrlSource, type UrlSourceOptions } from './url.source.js';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const MiB = 1024 * 1024;

async function readAll(reader: SourceReader, chunk: number, into: Buffer[] = []): Promise<Buffer> {
  for (;;) {
    const buf = Buffer.alloc(chunk);
    const n = await reader.read(buf);
    into.push(buf.subarray(0, n));
    if (n < chunk) break;
  }
  return Buffer.concat(into);
}

let servers: TestServer[];
let dispatcher: Agent;
let data: Buffer;

beforeEach(() => {
  servers = [];
  dispatcher = createGuardedDispatcher({ allowPrivate: true });
  data = randomBytes(2 * MiB + 4321);
});

afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await dispatcher.close();
});

async function serve(handler: Handler, host?: string): Promise<TestServer> {
  const server = await startServer(handler, host);
  servers.push(server);
  return server;
}

async function serveMedia(
  options: Omit<MediaOptions, 'data'> & { data?: Buffer },
): Promise<{ server: TestServer; media: MediaOptions }> {
  const media: MediaOptions = { data, ...options };
  return { server: await serve(mediaHandler(media)), media };
}

function source(url: string, options: Partial<UrlSourceOptions> = {}): UrlSource {
  return new UrlSource(url, { dispatcher, maxBytes: 100 * MiB, ...options });
}

describe('UrlSource stat and read', () => {
  it('stats with HEAD and reads the whole body into caller buffers', async () => {
    const { server } = await serveMedia({ contentDisposition: 'attachment; filename="holiday.mov"' });
    const src = source(`${server.url}/files/clip?token=secret`);
    expect(src.description).toBe(`${server.url}/files/clip`);
    const st = await src.stat();
    expect(st).toMatchObject({
      size: data.length,
      fileName: 'holiday.mov',
      contentType: 'video/mp4',
      seekable: true,
    });
    expect(st.fingerprint).toContain(etagOf(data).slice(1, -1));
    expect(server.requests.map((r) => r.method)).toEqual(['HEAD']);
    for (const chunk of [MiB, 10_000]) {
      const reader = await src.open({ start: 0, expectedFingerprint: st.fingerprint });
      expect(sha256(await readAll(reader, chunk))).toBe(sha256(data));
      expect(reader.position).toBe(data.length);
      expect(await reader.read(Buffer.alloc(8))).toBe(0);
      await reader.close();
      await reader.close();
    }
  });

  it('reads from an offset with Range + If-Range and gets the rest', async () => {
    const { server } = await serveMedia({});
    const src = source(`${server.url}/a.mp4`);
    const st = await src.stat();
    const cut = 1_000_003;
    const reader = await src.open({ start: cut, expectedFingerprint: st.fingerprint });
    expect(reader.position).toBe(cut);
    const tail = await readAll(reader, 256 * 1024);
    await reader.close();
    expect(sha256(tail)).toBe(sha256(data.subarray(cut)));
    const get = server.requests.at(-1);
    expect(get?.headers.range).toBe(`bytes=${cut}-`);
    expect(get?.headers['if-range']).toBe(etagOf(data));
  });

  it('opening at the end of the source gives an empty reader (416)', async () => {
    const { server } = await serveMedia({});
    const src = source(`${server.url}/a.mp4`);
    const st = await src.stat();
    const reader = await src.open({ start: data.length, expectedFingerprint: st.fingerprint });
    expect(await reader.read(Buffer.alloc(10))).toBe(0);
    await reader.close();
  });

  it.each(['refuse', 'zero', 'no-length'] as const)(
    'falls back to GET when HEAD %s, reading only headers',
    async (head) => {
      const big = randomBytes(16 * MiB);
      let getFinished: boolean | undefined;
      const handler = mediaHandler({ data: big, head });
      const server = await serve((req, res) => {
        if (req.method === 'GET') res.on('close', () => (getFinished = res.writableFinished));
        handler(req, res);
      });
      const st = await source(`${server.url}/v/movie`).stat();
      expect(st.size).toBe(big.length);
      expect(st.fileName).toBe('movie.mp4');
      expect(server.requests.map((r) => r.method)).toEqual(['HEAD', 'GET']);
      await expect.poll(() => getFinished).toBe(false); // the GET body was abandoned, not downloaded
    },
  );

  it('pulls the body only as read() asks: backpressure reaches the server', async () => {
    const total = 64 * MiB;
    const piece = Buffer.alloc(64 * 1024, 7);
    let written = 0;
    let blocked = false;
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': String(total) });
      const pump = () => {
        blocked = false;
        while (written < total) {
          written += piece.length;
          if (!res.write(piece)) {
            blocked = true;
            return void res.once('drain', pump);
          }
        }
        res.end();
      };
      pump();
    });
    const reader = await source(`${server.url}/big`).open({ start: 0 });
    expect(await reader.read(Buffer.alloc(64 * 1024))).toBe(64 * 1024);
    // The server stalls once the socket buffers and undici's small queue are full, far short of 64 MiB.
    await expect.poll(() => blocked, { timeout: 10_000 }).toBe(true);
    const stalledAt = written;
    await new Promise((r) => setTimeout(r, 100));
    expect(written).toBe(stalledAt);
    expect(written).toBeLessThan(total / 2);
    await reader.close();
  });

  it('handles an unknown length (chunked)', async () => {
    const { server } = await serveMedia({ chunked: true, head: 'no-length', etag: false });
    const src = source(`${server.url}/live.ts`);
    const st = await src.stat();
    expect(st.size).toBeNull();
    const reader = await src.open({ start: 0, expectedFingerprint: st.fingerprint });
    expect(sha256(await readAll(reader, 300_000))).toBe(sha256(data));
    await reader.close();
  });
});

describe('UrlSource resume', () => {
  it('a connection dropped mid-body is retryable; resuming with Range gives identical bytes', async () => {
    const { server } = await serveMedia({ dropAfter: 777_777 });
    const src = source(`${server.url}/a.mp4`);
    const { fingerprint } = await src.stat();
    const reader = await src.open({ start: 0, expectedFingerprint: fingerprint });
    const got: Buffer[] = [];
    const err = await readAll(reader, 100_000, got).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceUnavailableError);
    expect((err as SourceUnavailableError).retryable).toBe(true);
    await expect(reader.read(Buffer.alloc(1))).rejects.toBe(err); // stays failed
    await reader.close();
    const head = Buffer.concat(got);
    expect(reader.position).toBe(head.length);
    expect(head.length).toBeLessThan(777_777 + 1);

    const resumed = await src.open({ start: reader.position, expectedFingerprint: fingerprint });
    const tail = await readAll(resumed, 100_000);
    await resumed.close();
    expect(sha256(Buffer.concat([head, tail]))).toBe(sha256(data));
    expect(server.requests.at(-1)?.headers.range).toBe(`bytes=${head.length}-`);
  });

  it('a server ignoring Range: the bytes before start are discarded, never returned', async () => {
    const { server } = await serveMedia({ ranges: false });
    const src = source(`${server.url}/a.mp4`);
    const st = await src.stat();
    expect(st.seekable).toBe(false);
    const cut = 1_234_567;
    const reader = await src.open({ start: cut, expectedFingerprint: st.fingerprint });
    expect(reader.position).toBe(cut);
    const tail = await readAll(reader, 64 * 1024);
    await reader.close();
    expect(sha256(Buffer.concat([data.subarray(0, cut), tail]))).toBe(sha256(data));
    expect(tail.length).toBe(data.length - cut);
  });

  it('content changed between attempts (new ETag): SourceChangedError, whether the server sends 200 or 412', async () => {
    for (const preconditionFailedOnMismatch of [false, true]) {
      const { server, media } = await serveMedia({ preconditionFailedOnMismatch });
      const src = source(`${server.url}/a.mp4`);
      const { fingerprint } = await src.stat();
      media.data = randomBytes(data.length); // same size, new content
      await expect(src.open({ start: 1000, expectedFingerprint: fingerprint })).rejects.toBeInstanceOf(
        SourceChangedError,
      );
      await expect(src.open({ start: 0, expectedFingerprint: fingerprint })).rejects.toBeInstanceOf(
        SourceChangedError,
      );
    }
  });

  it('content changed (Last-Modified + size only): SourceChangedError', async () => {
    const { server, media } = await serveMedia({
      etag: false,
      lastModified: 'Mon, 01 Jan 2024 00:00:00 GMT',
    });
    const src = source(`${server.url}/a.mp4`);
    const { fingerprint } = await src.stat();
    expect(server.requests.length).toBe(1);
    media.lastModified = 'Tue, 02 Jan 2024 00:00:00 GMT';
    await expect(src.open({ start: 10, expectedFingerprint: fingerprint })).rejects.toBeInstanceOf(
      SourceChangedError,
    );
    expect(server.requests.at(-1)?.headers['if-range']).toBe('Mon, 01 Jan 2024 00:00:00 GMT');
    media.lastModified = 'Mon, 01 Jan 2024 00:00:00 GMT';
    media.data = data.subarray(0, data.length - 1);
    await expect(src.open({ start: 0, expectedFingerprint: fingerprint })).rejects.toBeInstanceOf(
      SourceChangedError,
    );
  });

  it('a 206 whose Content-Range does not start at the requested byte is refused', async () => {
    const server = await serve((_req, res) => {
      res
        .writeHead(206, { 'content-range': `bytes 0-9/${data.length}`, 'content-length': '10' })
        .end(data.subarray(0, 10));
    });
    await expect(source(`${server.url}/a`).open({ start: 5 })).rejects.toBeInstanceOf(SourceProtocolError);
  });
});

describe('UrlSource limits', () => {
  it('maxBytes on Content-Length (stat and open)', async () => {
    const { server } = await serveMedia({});
    const src = source(`${server.url}/a.mp4`, { maxBytes: data.length - 1 });
    await expect(src.stat()).rejects.toBeInstanceOf(SourceTooLargeError);
    await expect(src.open({ start: 0 })).rejects.toBeInstanceOf(SourceTooLargeError);
  });

  it('maxBytes while streaming a chunked body', async () => {
    const { server } = await serveMedia({ chunked: true, head: 'no-length' });
    const src = source(`${server.url}/a.mp4`, { maxBytes: MiB });
    expect((await src.stat()).size).toBeNull();
    const reader = await src.open({ start: 0 });
    await expect(readAll(reader, 256 * 1024)).rejects.toBeInstanceOf(SourceTooLargeError);
    expect(reader.position).toBeLessThanOrEqual(MiB);
    await reader.close();
  });

  it('a headers timeout and a body idle timeout are retryable', async () => {
    const silent = await serve(() => undefined);
    const t = { headersMs: 200, bodyIdleMs: 200 };
    await expect(source(`${silent.url}/a`, { timeouts: t }).open({ start: 0 })).rejects.toMatchObject({
      code: 'SOURCE_UNAVAILABLE',
      retryable: true,
    });
    const stalling = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write(Buffer.alloc(10));
    });
    const reader = await source(`${stalling.url}/a`, { timeouts: t }).open({ start: 0 });
    await expect(reader.read(Buffer.alloc(1000))).rejects.toBeInstanceOf(SourceUnavailableError);
    await reader.close();
  });
});

describe('UrlSource statuses', () => {
  it.each([
    [404, SourceNotFoundError],
    [410, SourceNotFoundError],
    [401, SourceForbiddenError],
    [403, SourceForbiddenError],
    [400, SourceProtocolError],
    [500, SourceUnavailableError],
  ])('HTTP %i → %o', async (status, kind) => {
    const server = await serve((_req, res) => res.writeHead(status).end());
    await expect(source(`${server.url}/a`).stat()).rejects.toBeInstanceOf(kind);
    await expect(source(`${server.url}/a`).open({ start: 0 })).rejects.toBeInstanceOf(kind);
  });

  it('429 and 503 are retryable and carry Retry-After as retryAfterMs', async () => {
    for (const status of [429, 503]) {
      const server = await serve((_req, res) => res.writeHead(status, { 'retry-after': '7' }).end());
      const err = await source(`${server.url}/a`)
        .open({ start: 0 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SourceUnavailableError);
      expect((err as SourceUnavailableError).details).toEqual({ status, retryAfterMs: 7000 });
    }
  });
});

describe('UrlSource redirects and headers', () => {
  const redirector =
    (hops: number, target: string): Handler =>
    (req, res) => {
      const n = Number(/^\/r(\d+)$/.exec(req.url ?? '')?.[1] ?? '-1');
      if (n >= 0 && n < hops)
        return void res.writeHead(302, { location: n + 1 < hops ? `/r${n + 1}` : target }).end();
      res.writeHead(404).end();
    };

  it('follows up to 5 redirects and refuses a 6th', async () => {
    const { server: media } = await serveMedia({});
    const five = await serve(redirector(5, `${media.url}/final.mp4`));
    const st = await source(`${five.url}/r0`).stat();
    expect(st).toMatchObject({ size: data.length, fileName: 'final.mp4' });
    const reader = await source(`${five.url}/r0`).open({ start: 0 });
    expect(sha256(await readAll(reader, MiB))).toBe(sha256(data));
    await reader.close();

    const six = await serve(redirector(6, `${media.url}/final.mp4`));
    const err = await source(`${six.url}/r0`)
      .open({ start: 0 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceProtocolError);
    expect((err as SourceProtocolError).details).toEqual({ reason: 'TOO_MANY_REDIRECTS' });
  });

  it('refuses a redirect to a non-http scheme', async () => {
    const server = await serve(redirector(1, 'ftp://files.example.com/a.mp4'));
    await expect(source(`${server.url}/r0`).open({ start: 0 })).rejects.toBeInstanceOf(SourceForbiddenError);
    await expect(source(`${server.url}/r0`).stat()).rejects.toBeInstanceOf(SourceForbiddenError);
  });

  it('refuses a redirect to loopback when private addresses are not allowed, without connecting', async () => {
    const target = await serve(mediaHandler({ data }), '127.0.0.2');
    const first = await serve(redirector(1, `${target.url}/a.mp4`));
    // Only the first server's exact address is excepted from the policy; the redirect target is not.
    const strict = createGuardedDispatcher({ allowedCidrs: ['127.0.0.1/32'] });
    try {
      const src = source(`${first.url}/r0`, { dispatcher: strict });
      await expect(src.open({ start: 0 })).rejects.toBeInstanceOf(SourceForbiddenError);
      await expect(src.stat()).rejects.toBeInstanceOf(SourceForbiddenError);
      expect(first.requests.length).toBeGreaterThan(0);
      expect(target.connections).toBe(0);
    } finally {
      await strict.close();
    }
  });

  it('sends job headers on every request, moves userinfo into Basic auth, drops credentials cross-origin', async () => {
    const { server: other } = await serveMedia({});
    const same = await serve((req, res) => {
      if (req.url?.startsWith('/start')) return void res.writeHead(302, { location: '/moved' }).end();
      if (req.url === '/moved') return void res.writeHead(302, { location: `${other.url}/a.mp4` }).end();
      mediaHandler({ data })(req, res);
    });
    const src = source(`http://user:p%40ss@127.0.0.1:${same.port}/start?sig=1`, {
      headers: { 'X-Custom': 'yes', Range: 'bytes=5-', Connection: 'close' },
    });
    expect(src.description).toBe(`${same.url}/start`);
    const reader = await src.open({ start: 0 });
    expect(sha256(await readAll(reader, MiB))).toBe(sha256(data));
    await reader.close();
    const basic = `Basic ${Buffer.from('user:p@ss').toString('base64')}`;
    expect(
      same.requests.map((r) => [r.url, r.headers.authorization, r.headers['x-custom'], r.headers.range]),
    ).toEqual([
      ['/start?sig=1', basic, 'yes', undefined],
      ['/moved', basic, 'yes', undefined],
    ]);
    expect(other.requests.map((r) => [r.headers.authorization, r.headers['x-custom']])).toEqual([
      [undefined, 'yes'],
    ]);
  });
});

describe('UrlSource aborts', () => {
  it('an aborted read or open signal ends the read with AbortError', async () => {
    const { server } = await serveMedia({});
    const src = source(`${server.url}/a.mp4`);
    await expect(src.open({ start: 0, signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);

    const reader = await src.open({ start: 0 });
    await expect(reader.read(Buffer.alloc(10), AbortSignal.abort())).rejects.toBeInstanceOf(AbortError);
    await reader.close();

    const controller = new AbortController();
    const second = await src.open({ start: 0, signal: controller.signal });
    expect(await second.read(Buffer.alloc(1000))).toBe(1000);
    controller.abort();
    await expect(second.read(Buffer.alloc(MiB))).rejects.toBeInstanceOf(AbortError);
    await second.close();
  });
});
