import { randomBytes } from 'node:crypto';
import type { RangeReader } from '@mediaferry/core';
import { crc64 } from '@mediaferry/crc64';
import { describe, expect, it } from 'vitest';
import { StreamedPartBody } from './streamed-part-body.js';

/** Random access over bytes in memory (the local file source is exercised by the engine tests). */
function memoryReader(data: Uint8Array, reads: number[] = []): RangeReader & { data: Uint8Array } {
  const r = {
    data,
    async readAt(target: Uint8Array, position: number) {
      reads.push(position);
      await new Promise((resolve) => setImmediate(resolve));
      const n = Math.max(0, Math.min(target.length, r.data.length - position));
      target.set(r.data.subarray(position, position + n));
      return n;
    },
    checkUnchanged: async () => {},
    close: async () => {},
  };
  return r;
}

async function drain(body: StreamedPartBody): Promise<Buffer> {
  const pass = body.open();
  const out: Buffer[] = [];
  for (let c = await pass.next(); c !== null; c = await pass.next()) out.push(Buffer.from(c));
  pass.close();
  return Buffer.concat(out);
}

describe('StreamedPartBody', () => {
  it('reads its range in chunks of half its memory, computing the CRC-64 on the way', async () => {
    const data = randomBytes(1000);
    const reads: number[] = [];
    const body = new StreamedPartBody({
      reader: memoryReader(data, reads),
      offset: 100,
      size: 700,
      memory: new Uint8Array(2 * 256),
    });
    expect(body.crc).toBeNull();
    expect(await drain(body)).toEqual(data.subarray(100, 800));
    expect(reads).toEqual([100, 356, 612]);
    expect(body.crc).toBe(crc64(data.subarray(100, 800)));
  });

  it('reads the range again for every pass, and the first pass stops once a second one opens', async () => {
    const data = randomBytes(600);
    const body = new StreamedPartBody({
      reader: memoryReader(data),
      offset: 0,
      size: 600,
      memory: new Uint8Array(200),
    });
    const first = body.open();
    await first.next();
    const second = await drain(body);
    expect(second).toEqual(data);
    await expect(first.next()).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('fails with SOURCE_CHANGED when a pass reads other bytes than an earlier one, or the source is short', async () => {
    const reader = memoryReader(randomBytes(600));
    const body = new StreamedPartBody({ reader, offset: 0, size: 600, memory: new Uint8Array(200) });
    await drain(body);
    reader.data = randomBytes(600);
    await expect(drain(body)).rejects.toMatchObject({ code: 'SOURCE_CHANGED' });
    reader.data = reader.data.subarray(0, 500);
    const short = new StreamedPartBody({ reader, offset: 0, size: 600, memory: new Uint8Array(200) });
    await expect(drain(short)).rejects.toMatchObject({ code: 'SOURCE_CHANGED' });
  });
});
