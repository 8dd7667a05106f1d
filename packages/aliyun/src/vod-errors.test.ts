import { inspect } from 'node:util';
import { AbortError, AccessDeniedError, NetworkError, ThrottledError, VodError } from '@mediaferry/core';
import { freePort } from '@mediaferry/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ScriptedServer, startScriptedServer } from './test-support/scripted-server.js';
import { parseVodEndpoint, VodClient } from './vod-client.js';
import { isVodNotFound } from './vod-errors.js';

/** Real openapi-core requests against a scripted server: each VOD error answer maps to its typed error. */
let server: ScriptedServer;
beforeAll(async () => {
  server = await startScriptedServer();
});
afterAll(() => server.close());

const SECRET = 'vod-secret-never-logged';
const TOKEN = 'sts-token-never-logged';

function client(endpoint = server.url) {
  return new VodClient({
    endpoint,
    regionId: 'cn-shanghai',
    accessKeyId: 'ak',
    accessKeySecret: SECRET,
    securityToken: TOKEN,
    readTimeoutMs: 5_000,
  });
}

function vodError(status: number, code: string, message: string, headers: Record<string, string> = {}) {
  server.respond((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json;charset=utf-8', ...headers });
    res.end(
      JSON.stringify({
        RequestId: 'RID-1',
        HostId: 'vod.cn-shanghai.aliyuncs.com',
        Code: code,
        Message: message,
      }),
    );
  });
}

async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('parseVodEndpoint', () => {
  it('splits scheme and host, defaulting to https', () => {
    expect(parseVodEndpoint('http://127.0.0.1:9000')).toEqual({ protocol: 'http', host: '127.0.0.1:9000' });
    expect(parseVodEndpoint('https://vod.cn-shanghai.aliyuncs.com')).toEqual({
      protocol: 'https',
      host: 'vod.cn-shanghai.aliyuncs.com',
    });
    expect(parseVodEndpoint('vod.cn-shanghai.aliyuncs.com')).toEqual({
      protocol: 'https',
      host: 'vod.cn-shanghai.aliyuncs.com',
    });
    expect(parseVodEndpoint('127.0.0.1:9000')).toEqual({ protocol: 'http', host: '127.0.0.1:9000' });
    expect(() => parseVodEndpoint('ftp://x')).toThrow(/http or https/);
    expect(() => parseVodEndpoint('http://x/path')).toThrow(/bare host/);
  });
});

describe('mapVodError with real openapi-core requests', () => {
  it('sends the action the way the generated client does', async () => {
    vodError(404, 'InvalidVideo.NotFound', 'The video not exist.');
    await caught(client().getVideoInfo('vid-1'));
    const req = server.requests.at(-1);
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe('/?VideoId=vid-1');
    expect(req?.headers['x-acs-action']).toBe('GetVideoInfo');
    expect(req?.headers['x-acs-version']).toBe('2017-03-21');
    expect(req?.headers['x-acs-security-token']).toBe(TOKEN);
    expect(req?.headers.authorization).toMatch(/^ACS3-HMAC-SHA256 Credential=ak,/);
  });

  it('maps throttling to ThrottledError with the retry hint', async () => {
    vodError(503, 'Throttling.User', 'Request was denied due to user flow control.', {
      'x-acs-retry-after': '1500',
    });
    const err = await caught(client().createUploadVideo({ title: 't', fileName: 'a.mp4' }));
    expect(err).toBeInstanceOf(ThrottledError);
    expect((err as ThrottledError).retryAfterMs).toBe(1500);
    expect((err as ThrottledError).details).toMatchObject({ vodCode: 'Throttling.User', requestId: 'RID-1' });
  });

  it.each([
    [404, 'InvalidAccessKeyId.NotFound'],
    [400, 'SignatureDoesNotMatch'],
    [403, 'Forbidden.RAM'],
    [400, 'InvalidSecurityToken.Expired'],
  ])('maps %i %s to a fatal AccessDeniedError', async (status, code) => {
    vodError(status, code, `Specified ... server string to sign is:POST x-acs-security-token:${TOKEN}`);
    const err = await caught(client().getVideoInfo('v'));
    expect(err).toBeInstanceOf(AccessDeniedError);
    expect((err as AccessDeniedError).retryable).toBe(false);
    expect((err as AccessDeniedError).details).toMatchObject({ vodCode: code, requestId: 'RID-1', status });
    expect(err.message).not.toContain(TOKEN);
    expect(err.message).not.toContain(SECRET);
  });

  it('maps unknown media and bad parameters to fatal VodErrors', async () => {
    vodError(404, 'InvalidVideo.NotFound', 'The video not exist.');
    const notFound = await caught(client().refreshUploadVideo('nope'));
    expect(notFound).toBeInstanceOf(VodError);
    expect((notFound as VodError).retryable).toBe(false);
    expect((notFound as VodError).vodCode).toBe('InvalidVideo.NotFound');
    expect(isVodNotFound(notFound)).toBe(true);

    vodError(400, 'MissingParameter', 'The input parameter "Title" that is mandatory is not supplied.');
    const missing = await caught(client().createUploadVideo({ title: 't', fileName: 'a.mp4' }));
    expect(missing).toBeInstanceOf(VodError);
    expect((missing as VodError).retryable).toBe(false);
    expect(isVodNotFound(missing)).toBe(false);
  });

  it('maps 5xx and non-JSON answers to retryable VodErrors', async () => {
    vodError(500, 'InternalError', 'The request processing has failed due to some unknown error.');
    const internal = await caught(client().getVideoInfo('v'));
    expect(internal).toBeInstanceOf(VodError);
    expect((internal as VodError).retryable).toBe(true);

    server.respond((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html>bad gateway</html>');
    });
    const html = await caught(client().getVideoInfo('v'));
    expect(html).toBeInstanceOf(VodError);
    expect((html as VodError).retryable).toBe(true);
  });

  it('maps a refused connection to NetworkError', async () => {
    const port = await freePort();
    const err = await caught(client(`http://127.0.0.1:${port}`).getVideoInfo('v'));
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).details).toMatchObject({ networkCode: 'ECONNREFUSED' });
  });

  it('stops waiting when the signal aborts', async () => {
    server.respond(() => {});
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const err = await caught(client().getVideoInfo('v', { signal: controller.signal }));
    expect(err).toBeInstanceOf(AbortError);
  });

  it('never shows the secret or token when the client is logged', () => {
    const c = client();
    for (const out of [inspect(c, { depth: 10 }), JSON.stringify(c), JSON.stringify({ ...c })]) {
      expect(out).not.toContain(SECRET);
      expect(out).not.toContain(TOKEN);
    }
  });

  it('refuses a success body that lacks the documented fields', async () => {
    server.respond((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ RequestId: 'R', VideoId: 'v' }));
    });
    const err = await caught(client().createUploadVideo({ title: 't', fileName: 'a.mp4' }));
    expect(err).toBeInstanceOf(VodError);
    expect(err.message).toMatch(/UploadAddress/);
  });
});
