import type { Source, SourceOpenOptions, SourceReader } from '@mediaferry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { delegateTarget } from './test-support/delegate-target.js';
import { EngineFixture, KiB, MiB, md5 } from './test-support/engine-fixture.js';

/** The producer runs ahead of the upload loops, within the buffer pool. */
let fx: EngineFixture;
beforeAll(async () => {
  fx = await EngineFixture.start();
});
afterAll(() => fx.close());

const PART = 128 * KiB;
const PARALLELISM = 2;

/** `source`, counting the bytes read so far and calling `onRead` after each read. */
function countingSource(source: Source, onRead: (total: number) => void): Source {
  let total = 0;
  return {
    kind: source.kind,
    description: source.description,
    stat: (signal) => source.stat(signal),
    async open(options: SourceOpenOptions): Promise<SourceReader> {
      const reader = await source.open(options);
      return {
        get position() {
          return reader.position;
        },
        async read(target, signal) {
          const n = await reader.read(target, signal);
          total += n;
          onRead(total);
          return n;
        },
        close: () => reader.close(),
      };
    },
  };
}

describe('UploadEngine producer', () => {
  it('reads the next part while every loop is uploading, and no further than the pool allows', async () => {
    const file = await fx.writeFile(2 * MiB + 5);
    let readBytes = 0;
    let uploadsStarted = 0;
    let readAhead!: () => void;
    const readAheadDone = new Promise<void>((resolve) => {
      readAhead = resolve;
    });
    const source = countingSource(fx.fileSource(file.path), (total) => {
      readBytes = total;
      if (total >= (PARALLELISM + 1) * PART) readAhead();
    });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const real = fx.ossTarget();
    const target = delegateTarget(real, {
      uploadPart: async (uploadId, partNumber, body, options) => {
        uploadsStarted++;
        await gate; // every loop is busy until the test lets them go
        return real.uploadPart(uploadId, partNumber, body, options);
      },
    });
    const run = fx.engine({ partSize: PART, parallelism: PARALLELISM }).run({
      uploadKey: 'prefetch',
      source,
      target,
    });
    // With both loops held on their parts, the producer has filled the spare buffer with part 3...
    await readAheadDone;
    expect(uploadsStarted).toBe(PARALLELISM);
    // ...and stops there: the pool has parallelism + 1 buffers.
    await new Promise((r) => setTimeout(r, 100));
    expect(readBytes).toBe((PARALLELISM + 1) * PART);
    release();
    const result = await run;
    expect((await fx.readBack(result.destination.bucket, result.destination.objectKey)).md5).toBe(
      md5(file.data),
    );
  });
});
