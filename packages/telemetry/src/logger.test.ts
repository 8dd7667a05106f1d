import { StorageError } from '@mediaferry/core';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

/** A pino destination that keeps every line. */
function capture() {
  const lines: string[] = [];
  return {
    lines,
    destination: { write: (line: string) => void lines.push(line) },
    records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const SECRETS = {
  bearer: 'Bearer api-token-7c1d9e',
  accessKeySecret: 'ak-secret-51f0a2',
  securityToken: 'sts-token-a8b7c6',
  uploadAuth: 'eyJVcGxvYWRBdXRoIjoic2VjcmV0In0=',
  plainToken: 'plain-token-0f9e8d',
  sourceHeader: 'origin-cookie-3e4f5a',
  sourceAuth: 'Basic b3JpZ2luOnB3',
  webhookSecret: 'whsec-9a8b7c',
  refreshToken: 'refresh-token-1b2c3d',
  urlPassword: 'url-password-6d5e4f',
  urlSignature: 'url-signature-2a3b4c',
  urlSts: 'url-sts-token-7e8f9a',
  detailsSecret: 'details-secret-5c6d7e',
  bindingSecret: 'binding-secret-8f9a0b',
} as const;

const signedUrl =
  `https://media-user:${SECRETS.urlPassword}@bucket.oss-cn-shanghai.aliyuncs.com/videos/a.mp4` +
  `?OSSAccessKeyId=STS.id&Expires=1700000000&Signature=${SECRETS.urlSignature}&security-token=${SECRETS.urlSts}`;

function assertNoSecret(lines: string[]) {
  const all = lines.join('\n');
  for (const [name, secret] of Object.entries(SECRETS)) {
    expect(all, `${name} leaked`).not.toContain(secret);
    // URL-encoded copies count as leaks too.
    expect(all, `${name} leaked (encoded)`).not.toContain(encodeURIComponent(secret));
  }
}

describe('createLogger', () => {
  it('never writes a secret, whatever shape it arrives in', () => {
    const out = capture();
    const log = createLogger({ name: 'test', level: 'trace', destination: out.destination });

    log.info({ req: { method: 'POST', headers: { authorization: SECRETS.bearer, host: 'api' } } }, 'request');
    log.info({ Authorization: SECRETS.bearer }, 'top-level header');
    log.info({
      config: {
        vod: { accessKeyId: 'LTAI-public-id', accessKeySecret: SECRETS.accessKeySecret },
        webhookSecrets: { 'svc-a': SECRETS.webhookSecret },
      },
    });
    log.info(
      {
        vodResponse: {
          UploadAuth: SECRETS.uploadAuth,
          UploadAddress: 'eyJhZGRyZXNzIjoib2theSJ9',
          credentials: { AccessKeyId: 'STS.id', SecurityToken: SECRETS.securityToken },
        },
      },
      'CreateUploadVideo',
    );
    log.debug({
      uploadAuth: SECRETS.uploadAuth,
      securityToken: SECRETS.securityToken,
      token: SECRETS.plainToken,
    });
    log.info({
      job: {
        id: 'job_123',
        spec: {
          source: {
            type: 'url',
            url: signedUrl,
            headers: { Cookie: SECRETS.sourceHeader, Authorization: SECRETS.sourceAuth, 'X-Trace': 'abc' },
          },
        },
      },
    });
    log.info({ deeply: { nested: { list: [{ my_refresh_token: SECRETS.refreshToken }] } } });
    log.info('fetching %s', signedUrl);
    log.info(`fetching ${signedUrl}`);
    log.info({ url: signedUrl }, 'object with a signed URL');
    log.info('payload %j', { webhookSecret: SECRETS.webhookSecret });
    log.error(
      {
        err: new StorageError(`PUT ${signedUrl} failed`, {
          status: 403,
          details: { clientSecret: SECRETS.detailsSecret, requestId: 'req-1' },
        }),
      },
      'part failed',
    );
    log.error(new Error(`GET ${signedUrl} reset`));
    const child = log.child({ jobId: 'job_123', credentials: { accessKeySecret: SECRETS.bindingSecret } });
    child.warn({ attempt: 2 }, 'retrying');

    expect(out.lines.length).toBe(14);
    assertNoSecret(out.lines);
  });

  it('keeps what is not secret so logs stay useful', () => {
    const out = capture();
    const log = createLogger({ name: 'worker', destination: out.destination });
    log.info(
      {
        jobId: 'job_42',
        accessKeyId: 'LTAI-public-id',
        credentialTtlSeconds: 3000,
        source: { type: 'url', url: signedUrl, headers: { 'X-Trace': 'abc' } },
      },
      'started',
    );
    log.child({ jobId: 'job_42' }).error(new StorageError('boom', { status: 503 }));
    const [first, second] = out.records();
    expect(first).toMatchObject({
      level: 'info',
      name: 'worker',
      msg: 'started',
      jobId: 'job_42',
      accessKeyId: 'LTAI-public-id',
      credentialTtlSeconds: 3000,
      source: { type: 'url', headers: '[Redacted]' },
    });
    const url = new URL((first!['source'] as { url: string }).url);
    expect(url.host).toBe('bucket.oss-cn-shanghai.aliyuncs.com');
    expect(url.pathname).toBe('/videos/a.mp4');
    expect(url.searchParams.get('Expires')).toBe('1700000000');
    expect(url.searchParams.get('Signature')).toBe('[Redacted]');
    expect(second).toMatchObject({
      level: 'error',
      jobId: 'job_42',
      msg: 'boom',
      err: { type: 'StorageError', code: 'STORAGE_ERROR', retryable: true, status: 503 },
    });
    expect(typeof (second!['err'] as { stack?: unknown }).stack).toBe('string');
  });

  it('honours the level', () => {
    const out = capture();
    const log = createLogger({ name: 'x', level: 'warn', destination: out.destination });
    log.info('hidden');
    log.warn('shown');
    expect(out.records().map((r) => r['msg'])).toEqual(['shown']);
  });
});

describe('createLogger with live Node objects', () => {
  it('serializes real requests, responses and errors instead of logging {}', async () => {
    const http = await import('node:http');
    const out = capture();
    const log = createLogger({ name: 'test', destination: out.destination });
    const server = http.createServer((req, res) => {
      res.setHeader('x-answer', '42');
      res.end('ok');
      log.info({ req, res, err: new Error(`upload failed: ${signedUrl}`) }, 'served');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as import('node:net').AddressInfo;
    await fetch(`http://127.0.0.1:${port}/videos?x=1`, { headers: { authorization: SECRETS.bearer } });
    await new Promise<void>((r) => server.close(() => r()));
    const [record] = out.records() as Array<{
      req: Record<string, unknown>;
      res: Record<string, unknown>;
      err: Record<string, unknown>;
    }>;
    expect(record?.req.method).toBe('GET');
    expect(record?.req.url).toBe('/videos?x=1');
    expect(record?.res.statusCode).toBe(200);
    expect(record?.err.type).toBe('Error');
    assertNoSecret(out.lines);
  });
});
