import { createHash, randomBytes } from 'node:crypto';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { SourceUnavailableError } from '@mediaferry/core';
import type { Agent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGuardedDispatcher } from './ssrf-guard.js';
import { startServer, type TestServer } from './test-support/http-server.js';
import { UrlSource } from './url.source.js';

const MiB = 1024 * 1024;
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

let server: TestServer | undefined;
let dispatcher: Agent;

beforeEach(() => {
  dispatcher = createGuardedDispatcher({ allowPrivate: true });
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  await dispatcher.close();
});

/** Serves `data` in `pieces` separate writes (so the body arrives in many network chunks). */
async function serveInPieces(data: Buffer, pieces: number, chunked = false): Promise<string> {
  server = await startServer((_req, res) => {
    res.writeHead(200, chunked ? {} : { 'content-length': String(data.length) });
    const step = Math.ceil(data.length / pieces);
    let offset = 0;
    const pump = () => {
      while (offset < data.length) {
        const end = Math.min(data.length, offset + step);
        const more = res.write(data.subarray(offset, end));
        offset = end;
        if (!more) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  return `${server.url}/media.bin`;
}

describe('UrlReader', () => {
  it.each([
    ['buffers smaller than network chunks', 1000, false],
    ['buffers larger than the body', 8 * MiB, false],
    ['odd-sized buffers over a chunked body', 123_457, true],
  ])('returns every byte once, in order: %s', async (_name, bufferSize, chunked) => {
    const data = randomBytes(3 * MiB + 17);
    const url = await serveInPieces(data, 97, chunked);
    const reader = await new UrlSource(url, { dispatcher, maxBytes: 64 * MiB }).open({ start: 0 });
    const parts: Buffer[] = [];
    for (;;) {
      const buffer = Buffer.alloc(bufferSize);
      const n = await reader.read(buffer);
      parts.push(buffer.subarray(0, n));
      expect(reader.position).toBe(parts.reduce((a, p) => a + p.length, 0));
      if (n === 0) break;
    }
    expect(sha256(Buffer.concat(parts))).toBe(sha256(data));
    expect(await reader.read(Buffer.alloc(10))).toBe(0);
    await reader.close();
  });

  it('a body that stops short of its Content-Length fails the read that needs the missing bytes', async () => {
    const data = randomBytes(MiB);
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-length': String(2 * MiB) });
      res.write(data, () => res.socket?.destroy());
    });
    const reader = await new UrlSource(`${server.url}/short`, { dispatcher, maxBytes: 64 * MiB }).open({
      start: 0,
    });
    expect(await reader.read(Buffer.alloc(MiB / 2))).toBe(MiB / 2);
    const err = await reader.read(Buffer.alloc(2 * MiB)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceUnavailableError);
    // A failed body stays failed.
    await expect(reader.read(Buffer.alloc(10))).rejects.toBe(err);
    await reader.close();
  });

  it('runs young-generation GCs as bytes arrive (and none when turned off)', async () => {
    const data = randomBytes(24 * MiB);
    const url = await serveInPieces(data, 400);
    const minorGcs = async (youngGcEveryBytes: number | null) => {
      let count = 0;
      const observer = new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) {
          const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
          if (kind === constants.NODE_PERFORMANCE_GC_MINOR) count++;
        }
      });
      observer.observe({ entryTypes: ['gc'] });
      const reader = await new UrlSource(url, { dispatcher, maxBytes: 64 * MiB, youngGcEveryBytes }).open({
        start: 0,
      });
      const buffer = Buffer.alloc(8 * MiB);
      while ((await reader.read(buffer)) > 0) {}
      await reader.close();
      await new Promise((r) => setTimeout(r, 50)); // gc entries are delivered asynchronously
      observer.disconnect();
      return count;
    };
    // 24 MiB at one GC per MiB: at least 20 (the count is process-wide, so a few bytes carry over).
    expect(await minorGcs(MiB)).toBeGreaterThanOrEqual(20);
    // Without pacing, V8 would need far more than 24 MiB of small allocations to scavenge this often.
    expect(await minorGcs(null)).toBeLessThan(20);
  });
});
