import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { digestBuffer, makeRandomFile, mib } from './support/media-files.js';
import { scanText } from './support/secret-scan.js';
import { SourceServer } from './support/source-server.js';
import { startSystem } from './support/system.js';
import { verifySignature, WebhookReceiver } from './support/webhook-receiver.js';

describe('the e2e harness itself', () => {
  it('starts redis, emulator, API, metrics and workers as processes and stops every one of them', async () => {
    const sys = await startSystem({ workers: 1 });
    try {
      expect((await fetch(`${sys.apiUrl}/readyz`)).status).toBe(200);
      expect(await sys.admin.buckets()).toContain('mediaferry-local');
      // Every process's output is captured (some log only once they are fully up, hence the wait).
      await Promise.all(
        [sys.emulator, sys.api, sys.metrics!, sys.worker(0).process].map((p) =>
          p.waitForLine(() => true, AbortSignal.timeout(15_000)),
        ),
      );
      expect(sys.crashed()).toEqual([]);
    } finally {
      await sys.stop();
    }
    expect(sys.processes.filter((p) => p.running).map((p) => p.name)).toEqual([]);
    await expect(fetch(`${sys.apiUrl}/healthz`)).rejects.toThrow();
  });

  it('serves files with Range support and throttling', async () => {
    const server = await SourceServer.start({ bytesPerSecond: 4 * 1024 * 1024 });
    const { makeTempDir } = await import('@mediaferry/testkit');
    const dir = await makeTempDir();
    try {
      const file = await makeRandomFile(dir.path, 'a b.bin', mib(0.5));
      const url = server.serve(file.name, file.path);
      const whole = Buffer.from(await (await fetch(url)).arrayBuffer());
      expect(digestBuffer(whole)).toEqual({ size: file.size, md5: file.md5, crc64: file.crc64 });
      const part = await fetch(url, { headers: { range: 'bytes=100-199' } });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe(`bytes 100-199/${file.size}`);
      expect(Buffer.from(await part.arrayBuffer())).toEqual(whole.subarray(100, 200));
      const head = await fetch(url, { method: 'HEAD' });
      expect(head.headers.get('content-length')).toBe(String(file.size));
      expect((await fetch(url, { headers: { range: `bytes=${file.size}-` } })).status).toBe(416);
      expect((await fetch(`${url}x`)).status).toBe(404);
    } finally {
      await server.close();
      await dir.remove();
    }
  });

  it('verifies webhook signatures over the raw body', async () => {
    const receiver = await WebhookReceiver.start();
    try {
      const body = JSON.stringify({ event: 'job.succeeded', job: { id: 'job_x' } });
      const sig = createHmac('sha256', 'secret-1').update(body).digest('hex');
      await fetch(receiver.url(), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-mediaferry-signature': `sha256=${sig}` },
        body,
      });
      const d = await receiver.waitFor(() => true, AbortSignal.timeout(5_000));
      expect(verifySignature(d, 'secret-1')).toBe(true);
      expect(verifySignature(d, 'secret-2')).toBe(false);
    } finally {
      await receiver.close();
    }
  });

  it('finds secrets by value and STS material by shape', () => {
    const token = `CAIS${Buffer.alloc(60, 7).toString('base64')}`;
    const uploadAuth = Buffer.from(JSON.stringify({ SecurityToken: 'x', AccessKeySecret: 'y' })).toString(
      'base64',
    );
    const secrets = [{ name: 'ak', value: 'very-secret-value' }];
    expect(scanText('all fine: job_123 uploaded', 'p', secrets)).toEqual([]);
    expect(scanText('{"accessKeySecret":"[Redacted]"}', 'p', secrets)).toEqual([]);
    expect(scanText('key very-secret-value here', 'p', secrets).map((f) => f.secret)).toEqual(['ak']);
    expect(scanText(`token ${token}`, 'p', secrets).map((f) => f.secret)).toEqual(['an STS SecurityToken']);
    expect(scanText(`auth ${uploadAuth}`, 'p', secrets).map((f) => f.secret)).toEqual(['an UploadAuth']);
    expect(scanText('{"AccessKeySecret":"abcdefghijkl"}', 'p', secrets).map((f) => f.secret)).toEqual([
      'a credential field',
    ]);
    const stsSecret = 'aB3'.repeat(14) + 'xY';
    expect(scanText(`secret=${stsSecret}.`, 'p', secrets).map((f) => f.secret)).toEqual([
      'an STS AccessKeySecret (by shape)',
    ]);
    expect(
      scanText('job_01jbcdefghjkmnpqrstvwxyz0 outin-0123456789abcdef0123456789abcdef', 'p', secrets),
    ).toEqual([]);
    expect(scanText('x very-secret-value y', 'p', secrets)[0]!.excerpt).not.toContain('very-secret-value');
  });
});
