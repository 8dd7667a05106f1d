import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBodyStream } from './body-stream.js';

describe('createBodyStream', () => {
  // A real HTTP server that counts what it receives, so progress is measured against a real socket.
  let port = 0;
  const server = createServer((req, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
    });
    req.on('end', () => res.end(String(n)));
  });
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('sends the bytes unchanged and reports monotonic progress ending at the size', async () => {
    const body = new Uint8Array(3 * 1024 * 1024 + 17);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
    const progress: number[] = [];
    const received = await new Promise<string>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, method: 'PUT', headers: { 'content-length': body.length } },
        (res) => {
          let text = '';
          res.on('data', (c) => {
            text += c;
          });
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      pipeline(
        createBodyStream(body, (n) => progress.push(n), 256 * 1024),
        req,
      ).catch(reject);
    });
    expect(Number(received)).toBe(body.length);
    expect(progress.at(-1)).toBe(body.length);
    expect(progress.length).toBeGreaterThan(3);
    for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeGreaterThan(progress[i - 1] as number);
  });

  it('hands out views on the same memory, not copies', async () => {
    const backing = new ArrayBuffer(1024);
    const body = new Uint8Array(backing, 100, 600);
    const chunks: Buffer[] = [];
    for await (const chunk of createBodyStream(body, undefined, 256)) chunks.push(chunk as Buffer);
    expect(chunks.map((c) => c.length)).toEqual([256, 256, 88]);
    for (const c of chunks) expect(c.buffer).toBe(backing);
    expect(chunks[0]?.byteOffset).toBe(100);
  });

  it('ends at once for an empty body', async () => {
    const progress: number[] = [];
    const chunks: unknown[] = [];
    for await (const c of createBodyStream(new Uint8Array(0), (n) => progress.push(n))) chunks.push(c);
    expect(chunks).toEqual([]);
    expect(progress).toEqual([]);
  });
});
