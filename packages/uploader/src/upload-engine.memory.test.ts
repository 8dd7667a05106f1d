import { appendFile, open as openFile, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { MemoryBudgetError, SourceChangedError } from '@mediaferry/core';
import { crc64 } from '@mediaferry/crc64';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBudget } from './memory-budget.js';
import { MemoryCheckpointStore } from './memory-checkpoint.store.js';
import { MAX_PARTS } from './part-planner.js';
import { delegateTarget } from './test-support/delegate-target.js';
import { DiscardTarget } from './test-support/discard-target.js';
import { EngineFixture, KiB, MiB, md5 } from './test-support/engine-fixture.js';
import { UploadEngine } from './upload-engine.js';

/** Bounded memory at any size: streamed file parts, whole-part buffers only where needed, one budget. */
let fx: EngineFixture;
beforeAll(async () => {
  fx = await EngineFixture.start();
});
afterAll(() => fx.close());

const TiB = 1024 ** 4;

async function sparseFile(size: number, name: string): Promise<string> {
  const file = path.join(fx.dir.path, name);
  const fh = await openFile(file, 'w');
  await fh.truncate(size);
  await fh.close();
  return file;
}

/** Descriptors of this process that point at `file`. */
async function openDescriptors(file: string): Promise<number> {
  let n = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target === file) n++;
  }
  return n;
}

function untilReceived(target: DiscardTarget, bytes: number): Promise<void> {
  return new Promise((resolve) => {
    target.onReceived = (total) => {
      if (total >= bytes) resolve();
    };
  });
}

describe('UploadEngine memory', () => {
  it('streams a sparse 10 TiB file within the budget, with OSS-sized parts, and leaves nothing open on cancel', async () => {
    const size = 10 * TiB;
    const file = await sparseFile(size, 'ten-tib.mp4');
    const budget = new MemoryBudget({ limitBytes: 16 * MiB });
    const store = new MemoryCheckpointStore();
    const target = new DiscardTarget();
    const ac = new AbortController();
    const received = untilReceived(target, 64 * MiB);
    const run = new UploadEngine({ checkpoints: store, memory: budget }).run({
      uploadKey: 'ten-tib',
      source: fx.fileSource(file),
      target,
      signal: ac.signal,
    });
    run.catch(() => {});
    await received;
    const cp = await store.get('ten-tib');
    // The smallest whole-MiB part size that fits 10,000 parts (OSS: every part but the last the same size).
    const expected = Math.ceil(Math.ceil(size / MAX_PARTS) / MiB) * MiB;
    expect(cp?.plan).toEqual({ kind: 'fixed', partSize: expected, totalSize: size });
    expect(expected).toBe(1049 * MiB);
    // Four parts of 1 GiB in flight, each holding two 1 MiB chunks: not the 4–5 GiB of whole parts.
    expect(target.openBodies).toBeGreaterThan(0);
    expect(budget.inUseBytes).toBeGreaterThan(0);
    expect(budget.peakInUseBytes).toBeLessThanOrEqual(4 * 2 * MiB);
    ac.abort();
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(budget.inUseBytes).toBe(0);
    expect(target.openBodies).toBe(0);
    expect(await openDescriptors(file)).toBe(0);
  });

  it('keeps four such jobs of one worker within the shared budget: the jobs wait for memory instead', async () => {
    const file = await sparseFile(10 * TiB, 'ten-tib-shared.mp4');
    // Room for four streamed parts in all, while the four jobs (parallelism 4 each) ask for sixteen.
    const budget = new MemoryBudget({ limitBytes: 8 * MiB });
    const ac = new AbortController();
    let received = 0;
    let contended!: () => void;
    const reached = new Promise<void>((resolve) => {
      contended = resolve;
    });
    const jobs = Array.from({ length: 4 }, (_, i) => {
      const target = new DiscardTarget();
      let mine = 0;
      target.onReceived = (total) => {
        received += total - mine;
        mine = total;
        if (received >= 16 * MiB && budget.waiting >= 3) contended();
      };
      const run = new UploadEngine({ checkpoints: new MemoryCheckpointStore(), memory: budget }).run({
        uploadKey: `shared-${i}`,
        source: fx.fileSource(file),
        target,
        signal: ac.signal,
      });
      run.catch(() => {});
      return { target, run };
    });
    await reached;
    expect(budget.peakInUseBytes).toBeLessThanOrEqual(8 * MiB);
    expect(budget.inUseBytes).toBeLessThanOrEqual(8 * MiB);
    ac.abort();
    for (const j of jobs) await expect(j.run).rejects.toMatchObject({ name: 'AbortError' });
    expect(budget.inUseBytes).toBe(0);
    expect(budget.waiting).toBe(0);
    expect(jobs.every((j) => j.target.openBodies === 0)).toBe(true);
    expect(await openDescriptors(file)).toBe(0);
  });

  it('buffers whole parts of a URL without Range support, within the budget', async () => {
    const data = (await fx.writeFile(3 * MiB + 17)).data;
    const server = await fx.mediaServer(data);
    server.ranges = false;
    const part = 256 * KiB;
    // Parallelism 4 wants 5 part buffers; the budget holds 3.
    const budget = new MemoryBudget({ limitBytes: 3 * part });
    const result = await fx
      .engine({ partSize: part, parallelism: 4, memory: budget })
      .run({ uploadKey: 'url-no-range', source: fx.urlSource(server.url), target: fx.ossTarget() });
    expect((await fx.readBack(result.destination.bucket, result.destination.objectKey)).md5).toBe(md5(data));
    expect(budget.peakInUseBytes).toBe(3 * part); // whole parts, as many as the budget allows
    expect(budget.inUseBytes).toBe(0);
  });

  it('re-reads a streamed file part for its retry and sends the same bytes (the emulator checks the CRC)', async () => {
    const file = await fx.writeFile(MiB + 3 * KiB);
    const key = 'dir/streamed-retry.mp4';
    const target = fx.ossTarget(key);
    await fx.emu.admin.cutUploadParts({ afterBytes: 100 * KiB, count: 2, key });
    const reads: number[] = [];
    const source = fx.fileSource(file.path);
    const ranges = source.openRanges!.bind(source);
    source.openRanges = async (o) => {
      const reader = await ranges(o);
      return {
        readAt: (t, position, s) => {
          reads.push(position);
          return reader.readAt(t, position, s);
        },
        checkUnchanged: () => reader.checkUnchanged(),
        close: () => reader.close(),
      };
    };
    const result = await fx
      .engine({ partSize: 512 * KiB, parallelism: 2, streamChunkBytes: 64 * KiB })
      .run({ uploadKey: 'streamed-retry', source, target });
    expect(result.partRetries).toBe(2);
    expect(result.crc64).toBe(crc64(file.data).toString());
    const stored = await fx.readBack(result.destination.bucket, result.destination.objectKey);
    expect(stored.md5).toBe(md5(file.data));
    // The cut parts were read again from their first byte.
    const starts = reads.filter((p) => p === 0 || p === 512 * KiB);
    expect(starts.length).toBeGreaterThanOrEqual(3);
  });

  it('refuses a part larger than the whole budget before anything is created or read', async () => {
    const data = (await fx.writeFile(2 * MiB)).data;
    const server = await fx.mediaServer(data);
    const calls: string[] = [];
    const real = fx.ossTarget();
    const target = delegateTarget(real, {
      prepare: (o) => {
        calls.push('prepare');
        return real.prepare(o);
      },
    });
    const err = await fx
      .engine({ partSize: MiB, memory: new MemoryBudget({ limitBytes: 512 * KiB }) })
      .run({ uploadKey: 'too-big', source: fx.urlSource(server.url), target })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MemoryBudgetError);
    expect(err).toMatchObject({ code: 'MEMORY_BUDGET_EXCEEDED', retryable: false });
    expect((err as Error).message).toContain('WORKER_MEMORY_BUDGET_BYTES');
    expect(calls).toEqual([]);
    expect(server.gets).toEqual([]);
  });

  it('fails a streamed upload with SOURCE_CHANGED when the file is written to meanwhile', async () => {
    const file = await fx.writeFile(MiB);
    const real = fx.ossTarget();
    let appended = false;
    const target = delegateTarget(real, {
      uploadPart: async (id, n, body, o) => {
        const part = await real.uploadPart(id, n, body, o);
        if (!appended) {
          appended = true;
          await appendFile(file.path, 'more');
        }
        return part;
      },
    });
    const err = await fx
      .engine({ partSize: 128 * KiB, parallelism: 1, streamChunkBytes: 32 * KiB })
      .run({ uploadKey: 'streamed-changed', source: fx.fileSource(file.path), target })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceChangedError);
  });
});
