import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jobSpecSchema } from '@mediaferry/core';
import { crc64 } from '@mediaferry/crc64';
import { enqueueUploads } from '@mediaferry/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProcessWorker } from './test-support/in-process-worker.js';
import { KiB, type Stack, startStack } from './test-support/stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

describe('URL source request headers', () => {
  it('reach the origin from the job secret, never the record or a log line, and go when the job succeeds', async () => {
    const token = `origin-token-${randomBytes(8).toString('hex')}`;
    const body = randomBytes(300 * KiB);
    const seen: IncomingHttpHeaders[] = [];
    // An origin that serves the file only to the right token (and honours ranges, as media hosts do).
    const origin = createServer((req, res) => {
      seen.push(req.headers);
      if (req.headers.authorization !== `Bearer ${token}`) {
        res.writeHead(403).end();
        return;
      }
      const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
      const start = range ? Number(range[1]) : 0;
      const end = range?.[2] ? Number(range[2]) : body.length - 1;
      res.writeHead(range ? 206 : 200, {
        'content-length': String(end - start + 1),
        ...(range ? { 'content-range': `bytes ${start}-${end}/${body.length}` } : {}),
        'accept-ranges': 'bytes',
      });
      res.end(req.method === 'HEAD' ? undefined : body.subarray(start, end + 1));
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    const worker = await startInProcessWorker(stack);
    try {
      const { port } = origin.address() as AddressInfo;
      const spec = jobSpecSchema.parse({
        source: {
          type: 'url',
          url: `http://127.0.0.1:${port}/clip.mp4`,
          headers: { Authorization: `Bearer ${token}` },
        },
        media: { type: 'video', title: 'with headers' },
      });
      const { record } = await stack.store.create({ service: 'svc', spec });
      expect(JSON.stringify(await stack.redis.hgetall(stack.store.keys.job(record.id)))).not.toContain(token);
      await enqueueUploads(stack.queue, [record]);
      const done = await stack.waitFor(record.id);
      expect(done).toMatchObject({
        status: 'succeeded',
        result: { size: body.length, crc64: crc64(body).toString() },
      });
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.every((h) => h.authorization === `Bearer ${token}`)).toBe(true);
      expect(worker.logs.join('')).not.toContain(token);
      expect(await stack.redis.exists(stack.store.keys.jobSecret(record.id))).toBe(0);
    } finally {
      await worker.close();
      await new Promise((resolve) => origin.close(resolve));
    }
  });
});
