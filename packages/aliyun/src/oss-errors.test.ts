import { inspect } from 'node:util';
import {
  AbortError,
  AccessDeniedError,
  CredentialsExpiredError,
  NetworkError,
  NoSuchUploadError,
  StorageError,
  ThrottledError,
} from '@mediaferry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountOssClient, createStsOssClient } from './oss-client.js';
import { type OssClientProvider, OssMultipartObject } from './oss-multipart.js';
import { ossErrorXml, type ScriptedServer, startScriptedServer } from './test-support/scripted-server.js';
import { UploadCredentials } from './upload-auth.js';

/**
 * Real ali-oss requests against a scripted HTTP server: each OSS answer shape maps to its typed error.
 */
let server: ScriptedServer;
beforeAll(async () => {
  server = await startScriptedServer();
});
afterAll(() => server.close());

const SECRET = 'account-secret-never-logged';

function accountObject(timeoutMs = 5_000) {
  const handle = createAccountOssClient(
    {
      endpoint: server.url,
      region: 'cn-shanghai',
      bucket: 'mediaferry-local',
      accessKeyId: 'ak',
      accessKeySecret: SECRET,
    },
    { timeoutMs, connectTimeoutMs: 2_000 },
  );
  const lease = { handle, generation: 1 };
  return new OssMultipartObject({ acquire: async () => lease }, 'dir/video 1+.mp4');
}

function stsObject() {
  let generation = 1;
  const renewals: number[] = [];
  const make = () =>
    createStsOssClient(
      { endpoint: server.url, bucket: 'outin-test', objectKey: 'sv/1/1.mp4' },
      new UploadCredentials({
        accessKeyId: `STS.key${generation}`,
        accessKeySecret: 'sts-secret',
        securityToken: `token-${generation}`,
        region: 'cn-shanghai',
        expiresAt: new Date(Date.now() + 3_600_000),
      }),
    );
  let lease = { handle: make(), generation };
  const provider: OssClientProvider = {
    acquire: async () => lease,
    renew: async (seen) => {
      renewals.push(seen);
      generation += 1;
      lease = { handle: make(), generation };
      return lease;
    },
  };
  return { object: new OssMultipartObject(provider, 'sv/1/1.mp4'), renewals };
}

function failWith(status: number, code: string, headers: Record<string, string> = {}) {
  server.respond((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/xml', 'x-oss-request-id': 'REQ123', ...headers });
    res.end(ossErrorXml(code, `message for ${code}`, 'REQ123'));
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

describe('mapOssError with real ali-oss requests', () => {
  it('maps token problems under STS to CredentialsExpiredError after one renewal', async () => {
    failWith(403, 'SecurityTokenExpired');
    const { object, renewals } = stsObject();
    const before = server.requests.length;
    const err = await caught(object.uploadPart('UP1', 1, new Uint8Array(1000)));
    expect(err).toBeInstanceOf(CredentialsExpiredError);
    expect((err as CredentialsExpiredError).details).toMatchObject({
      operation: 'UploadPart',
      ossCode: 'SecurityTokenExpired',
      requestId: 'REQ123',
      status: 403,
    });
    // Tried once, renewed once, tried once more with the new token; then gives up.
    expect(renewals).toEqual([1]);
    const sent = server.requests.slice(before);
    expect(sent.map((r) => r.headers['x-oss-security-token'])).toEqual(['token-1', 'token-2']);
    expect(sent.every((r) => r.bodyBytes === 1000)).toBe(true);
  });

  it('retries an operation once with the renewed client and succeeds', async () => {
    let calls = 0;
    server.respond((_req, res) => {
      calls += 1;
      if (calls === 1) {
        res.writeHead(403, { 'content-type': 'application/xml' });
        res.end(ossErrorXml('InvalidSecurityToken', 'bad token'));
        return;
      }
      res.writeHead(200, { etag: '"ABC"', 'x-oss-hash-crc64ecma': '123' });
      res.end();
    });
    const { object, renewals } = stsObject();
    const progress: number[] = [];
    const part = await object.uploadPart('UP1', 7, new Uint8Array(600 * 1024), {
      onBytesSent: (n) => progress.push(n),
    });
    expect(part).toEqual({ partNumber: 7, etag: '"ABC"', size: 600 * 1024, crc64: '123' });
    expect(renewals).toEqual([1]);
    // Progress stays monotonic across the resend.
    for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeGreaterThan(progress[i - 1] as number);
    expect(progress.at(-1)).toBe(600 * 1024);
  });

  it.each([
    [403, 'InvalidAccessKeyId', AccessDeniedError],
    [403, 'SignatureDoesNotMatch', AccessDeniedError],
    [403, 'AccessDenied', AccessDeniedError],
    [404, 'NoSuchUpload', NoSuchUploadError],
  ])('account key: %i %s → typed error', async (status, code, type) => {
    failWith(status, code);
    const err = await caught(accountObject().uploadPart('UP1', 1, new Uint8Array(10)));
    expect(err).toBeInstanceOf(type);
    expect(err.message).toContain(code);
    expect(err.message).not.toContain(SECRET);
  });

  it('never shows secrets when a client handle is logged', () => {
    const handle = createAccountOssClient({
      endpoint: server.url,
      region: 'cn-shanghai',
      bucket: 'mediaferry-local',
      accessKeyId: 'ak',
      accessKeySecret: SECRET,
    });
    for (const out of [
      inspect(handle, { depth: 10 }),
      JSON.stringify(handle),
      JSON.stringify({ ...handle }),
    ]) {
      expect(out).not.toContain(SECRET);
    }
    const sts = createStsOssClient(
      { endpoint: server.url, bucket: 'outin-test', objectKey: 'k' },
      new UploadCredentials({
        accessKeyId: 'STS.k',
        accessKeySecret: 'sts-secret',
        securityToken: 'sts-token',
        region: 'cn-shanghai',
        expiresAt: new Date(Date.now() + 60_000),
      }),
    );
    for (const out of [inspect(sts, { depth: 10 }), JSON.stringify(sts)]) {
      expect(out).not.toContain('sts-secret');
      expect(out).not.toContain('sts-token');
    }
  });

  it('maps 429 with Retry-After to ThrottledError', async () => {
    failWith(429, 'Throttling', { 'retry-after': '3' });
    const err = await caught(accountObject().initMultipart());
    expect(err).toBeInstanceOf(ThrottledError);
    expect((err as ThrottledError).retryAfterMs).toBe(3000);
    expect((err as ThrottledError).retryable).toBe(true);
  });

  it('maps 5xx to a retryable StorageError and other 4xx to a fatal one', async () => {
    failWith(500, 'InternalError');
    const e500 = await caught(accountObject().listParts('UP1'));
    expect(e500).toBeInstanceOf(StorageError);
    expect((e500 as StorageError).retryable).toBe(true);
    expect((e500 as StorageError).status).toBe(500);

    failWith(400, 'InvalidPart');
    const e400 = await caught(accountObject().complete('UP1', [{ partNumber: 1, etag: '"A"', size: 1 }]));
    expect(e400).toBeInstanceOf(StorageError);
    expect((e400 as StorageError).retryable).toBe(false);
    expect((e400 as StorageError).storageCode).toBe('InvalidPart');
  });

  it('maps a reset connection and a response timeout to NetworkError', async () => {
    server.respond((req) => req.socket.destroy());
    const reset = await caught(accountObject().uploadPart('UP1', 1, new Uint8Array(1000)));
    expect(reset).toBeInstanceOf(NetworkError);
    expect(reset.message).not.toContain(SECRET);

    server.respond(() => {});
    const timedOut = await caught(accountObject(300).initMultipart());
    expect(timedOut).toBeInstanceOf(NetworkError);
    expect((timedOut as NetworkError).details).toMatchObject({ networkCode: 'ResponseTimeoutError' });
  });

  it('aborts a request in flight through the signal and closes its connection', async () => {
    let closed!: () => void;
    const connectionClosed = new Promise<void>((r) => {
      closed = r;
    });
    server.respond((req) => req.socket.once('close', () => closed()));
    const controller = new AbortController();
    const pending = accountObject(30_000).uploadPart('UP1', 1, new Uint8Array(2 * 1024 * 1024), {
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    const err = await caught(pending);
    expect(err).toBeInstanceOf(AbortError);
    expect(Date.now() - started).toBeLessThan(5_000);
    await connectionClosed;
  });

  it('head() answers null for a missing object and treats a gone upload as aborted', async () => {
    server.respond((_req, res) => {
      res.writeHead(404, { 'x-oss-request-id': 'R' });
      res.end();
    });
    expect(await accountObject().head()).toBeNull();
    failWith(404, 'NoSuchUpload');
    await expect(accountObject().abort('UP1')).resolves.toBeUndefined();
  });
});
