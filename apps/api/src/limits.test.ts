import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { AbortError } from '@mediaferry/core';
import { describe, expect, it } from 'vitest';
import { auth, fileJob, useApi } from './test-support/api-fixture.js';

const abortReasons: unknown[] = [];
const api = useApi(
  { bodyLimitBytes: 16 * 1024, batchBodyLimitBytes: 256 * 1024, rateLimitMax: 1000, checkTimeoutMs: 300 },
  {
    // A check of hang.example.com never ends by itself: only the request's signal stops it.
    wrapCheckSource: (check) => async (source, signal) => {
      if (source.type === 'url' && source.url.includes('hang.example.com')) {
        await new Promise((_, reject) => {
          signal.addEventListener(
            'abort',
            () => {
              abortReasons.push(signal.reason);
              reject(new AbortError('The check was aborted', { cause: signal.reason }));
            },
            { once: true },
          );
        });
      }
      await check(source, signal);
    },
  },
);

describe('source check deadline', () => {
  it('aborts checks that outlast checkTimeoutMs and answers instead of hanging', async () => {
    const res = await api.createJob(
      fileJob(api, { source: { type: 'url', url: 'https://hang.example.com/a.mp4' } }),
    );
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('ABORTED');
    expect(abortReasons).toHaveLength(1);
    expect((abortReasons[0] as Error).name).toBe('TimeoutError');
    // The API goes on serving.
    expect((await api.createJob(fileJob(api))).statusCode).toBe(202);
  });
});

describe('request limits and malformed input', () => {
  it('answers 413 PAYLOAD_TOO_LARGE above the body limit, with a bigger limit on batches', async () => {
    const big = fileJob(api, { media: { type: 'video', title: 'A', description: 'x'.repeat(20 * 1024) } });
    const res = await api.createJob(big);
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('PAYLOAD_TOO_LARGE');
    // The same 20 KiB fits a batch (where it then fails validation on its own: description > 1024).
    const batch = await api.request({
      method: 'POST',
      url: '/v1/jobs/batch',
      headers: auth(),
      payload: { jobs: [big] },
    });
    expect(batch.statusCode).toBe(207);
    expect(batch.json().jobs[0].error.details.fields[0].path).toBe('media.description');
  });

  it('lets a client finish sending an oversized body and read the 413 on a connection that stays open', async () => {
    await api.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = api.app.server.address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      received += d;
    });
    const waitFor = async (count: number) => {
      while ((received.match(/HTTP\/1\.1 /g) ?? []).length < count || !received.endsWith('}')) {
        await once(socket, 'data');
      }
    };
    const head = (length: number) =>
      `POST /v1/jobs/batch HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth().authorization}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
    // 1 MiB against the 256 KiB batch limit: answered 413, the body is read to its end, and the
    // same connection then serves the next request.
    const body = `{"jobs":[],"pad":"${'p'.repeat(1024 * 1024)}"}`;
    socket.write(head(body.length) + body);
    await waitFor(1);
    expect(received).toMatch(/^HTTP\/1\.1 413 /);
    expect(received.toLowerCase()).not.toContain('connection: close');
    expect(received).toContain('"PAYLOAD_TOO_LARGE"');
    socket.write(
      `GET /v1/jobs?limit=1 HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth().authorization}\r\n\r\n`,
    );
    await waitFor(2);
    expect(received).toMatch(/HTTP\/1\.1 200 [\s\S]*"jobs"/);
    socket.destroy();

    // A body announced far beyond any route's limit is not drained: 413, then the connection closes.
    const huge = connect(port, '127.0.0.1');
    await once(huge, 'connect');
    let answer = '';
    huge.on('data', (d) => {
      answer += String(d);
    });
    const closed = once(huge, 'close');
    huge.write(head(1024 ** 3));
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer.toLowerCase()).toContain('connection: close');
  });

  it('answers 415 for anything but JSON and 400 for broken JSON, always as JSON', async () => {
    const types = [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
    ];
    for (const type of types) {
      const res = await api.request({
        method: 'POST',
        url: '/v1/jobs',
        headers: { ...auth(), 'content-type': type },
        payload: 'a=b',
      });
      expect(res.statusCode).toBe(415);
      expect(res.json().error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
    for (const payload of ['{', '{"source":', 'null x', '']) {
      const res = await api.request({
        method: 'POST',
        url: '/v1/jobs',
        headers: { ...auth(), 'content-type': 'application/json' },
        payload,
      });
      expect(res.statusCode).toBe(400);
      expect(['INVALID_JSON', 'VALIDATION_FAILED']).toContain(res.json().error.code);
    }
    const proto = await api.request({
      method: 'POST',
      url: '/v1/jobs',
      headers: { ...auth(), 'content-type': 'application/json' },
      payload: '{"__proto__": {"x": 1}, "source": {}}',
    });
    expect(proto.statusCode).toBe(400);
  });

  it('answers URLs the router refuses (bad encoding, over-long ids) in the contract shape', async () => {
    const long = `job_${'x'.repeat(200)}`;
    for (const [method, url, status, code] of [
      ['GET', '/v1/%ff', 400, 'BAD_REQUEST'],
      ['GET', '/v1/jobs/%E0%A4%A', 400, 'BAD_REQUEST'],
      ['GET', `/v1/jobs/${long}`, 414, 'URI_TOO_LONG'],
      ['DELETE', `/v1/jobs/${long}`, 414, 'URI_TOO_LONG'],
      ['POST', `/v1/jobs/${long}/retry`, 414, 'URI_TOO_LONG'],
      ['GET', `/v1/jobs/${long}/events`, 414, 'URI_TOO_LONG'],
    ] as const) {
      const res = await api.request({ method, url, headers: auth() });
      expect(res.statusCode, `${method} ${url}`).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.json(), `${method} ${url}`).toEqual({ error: { code, message: expect.any(String) } });
    }
  });

  it('survives 200 malformed requests with only 4xx answers', async () => {
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
    const values: unknown[] = [
      null,
      true,
      -1,
      1e308,
      'x'.repeat(10_000),
      '',
      [],
      {},
      [1, 'a', null],
      { type: 'file' },
      { type: 'url', url: 'ftp://x' },
      { type: 'url', url: 'https://e.com', headers: { 'bad header': 'x\r\ny' } },
      '\u0000',
      { $where: 1 },
    ];
    const mutate = (): unknown => {
      const body: Record<string, unknown> = fileJob(api);
      const key = pick([
        'source',
        'media',
        'target',
        'priority',
        'callbackUrl',
        'idempotencyKey',
        'extra',
        'media.title',
      ]);
      if (key === 'media.title') body.media = { type: 'video', title: pick(values) };
      else body[key] = pick(values);
      return rand() < 0.2 ? pick(values) : body;
    };
    const statuses = new Map<number, number>();
    for (let i = 0; i < 200; i++) {
      const mode = pick(['json', 'json', 'json', 'raw', 'type', 'huge', 'query', 'batch']);
      let res: Awaited<ReturnType<typeof api.request>>;
      if (mode === 'json') res = await api.createJob(mutate());
      else if (mode === 'raw') {
        const text = JSON.stringify(mutate()) ?? '';
        const cut = text.slice(0, Math.floor(rand() * text.length));
        res = await api.request({
          method: 'POST',
          url: '/v1/jobs',
          headers: { ...auth(), 'content-type': 'application/json' },
          payload: cut,
        });
      } else if (mode === 'type') {
        res = await api.request({
          method: pick(['POST', 'DELETE'] as const),
          url: pick(['/v1/jobs', '/v1/jobs/batch', '/v1/jobs/job_x/retry']),
          headers: {
            ...auth(),
            'content-type': pick(['text/html', 'image/png', 'application/jsonx', ';;;']),
          },
          payload: '<x>',
        });
      } else if (mode === 'huge') {
        res = await api.createJob({
          ...fileJob(api),
          pad: 'y'.repeat(17 * 1024 + Math.floor(rand() * 4096)),
        });
      } else if (mode === 'query') {
        res = await api.request({
          method: 'GET',
          url: pick([
            '/v1/jobs?limit=abc',
            '/v1/jobs?limit=0',
            '/v1/jobs?cursor=%00',
            '/v1/jobs?status=x&status=y',
            '/v1/jobs/%E0%A4%A',
            `/v1/jobs/${'j'.repeat(3000)}`,
            '/v1/jobs?cursor=job_zzzzzzzzzzzzzzzzzzzzzzzzzz',
          ]),
          headers: auth(),
        });
      } else {
        res = await api.request({
          method: 'POST',
          url: '/v1/jobs/batch',
          headers: auth(),
          payload: pick([
            { jobs: [mutate(), mutate()] },
            { jobs: 'x' },
            { jobs: [] },
            { nope: 1 },
            [1, 2],
          ]) as object,
        });
      }
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      expect(res.statusCode, `${mode}: ${res.body.slice(0, 200)}`).toBeLessThan(500);
      expect(res.statusCode === 207 || res.statusCode === 200 || res.statusCode >= 400).toBe(true);
      expect(res.headers['content-type']).toMatch(/application\/json/);
      expect(res.body).not.toMatch(/at .*\.(ts|js):\d+/); // never a stack
    }
    expect([...statuses.keys()].every((s) => s < 500)).toBe(true);
  });
});

describe('rate limit', () => {
  const limited = useApi({ rateLimitMax: 5, rateLimitWindowMs: 60_000 });

  it('answers 429 RATE_LIMITED per service, counted in Redis', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 7; i++) {
      codes.push((await limited.request({ method: 'GET', url: '/v1/jobs', headers: auth('a') })).statusCode);
    }
    expect(codes).toEqual([200, 200, 200, 200, 200, 429, 429]);
    const res = await limited.request({ method: 'GET', url: '/v1/jobs', headers: auth('a') });
    expect(res.json().error.code).toBe('RATE_LIMITED');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    // Another service has its own budget; the counter lives in Redis under the prefix.
    expect((await limited.request({ method: 'GET', url: '/v1/jobs', headers: auth('b') })).statusCode).toBe(
      200,
    );
    expect(await limited.redis.keys('mfapi:ratelimit:*')).toEqual(
      expect.arrayContaining(['mfapi:ratelimit:svc-a', 'mfapi:ratelimit:svc-b']),
    );
  });
});
