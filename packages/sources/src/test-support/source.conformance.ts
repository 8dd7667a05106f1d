import { randomBytes, randomUUID } from 'node:crypto';
import { type Source, SourceChangedError, SourceNotFoundError } from '@mediaferry/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/**
 * One suite every `Source` implementation runs (tus-node-server style: capability slices a source opts
 * into), next to the CheckpointStore and StorageTarget suites. It checks the contract of
 * `packages/core/src/source.ts` as the engine relies on it.
 */

export interface SourceFixture {
  /** A source whose content is `data`, named `name` (with an extension). */
  make(data: Buffer, name: string): Promise<Source>;
  /** A source that does not exist (a missing file, a 404). */
  missing(): Source;
  /** Replaces the content behind a source made by `make` (slice `changes`). */
  change?(source: Source, data: Buffer): Promise<void>;
  teardown(): Promise<void>;
}

export interface SourceCapabilities {
  /** `stat().seekable`: `open({start > 0})` starts mid-stream. */
  seekable: boolean;
  /** The fixture can change the content, and the source's fingerprint notices. */
  changes: boolean;
}

async function readAll(source: Source, start = 0, expectedFingerprint?: string, chunk = 64 * 1024) {
  const reader = await source.open({ start, ...(expectedFingerprint ? { expectedFingerprint } : {}) });
  try {
    expect(reader.position).toBe(start);
    const parts: Buffer[] = [];
    for (;;) {
      const target = new Uint8Array(chunk);
      const n = await reader.read(target);
      if (n === 0) break;
      parts.push(Buffer.from(target.subarray(0, n)));
      if (n < chunk) {
        // Only the end of the source may return less than asked: the next read says 0.
        expect(await reader.read(new Uint8Array(chunk))).toBe(0);
        break;
      }
    }
    const data = Buffer.concat(parts);
    expect(reader.position).toBe(start + data.length);
    return data;
  } finally {
    await reader.close();
  }
}

export function sourceConformance(
  name: string,
  setup: () => Promise<SourceFixture>,
  capabilities: SourceCapabilities,
): void {
  describe(`Source conformance: ${name}`, () => {
    let fx: SourceFixture;
    beforeEach(async () => {
      fx = await setup();
    });
    afterEach(async () => {
      await fx.teardown();
    });

    it('stat: size, a stable fingerprint, a file name with an extension, seekability', async () => {
      const data = randomBytes(300 * 1024 + 17);
      const source = await fx.make(data, `clip-${randomUUID()}.mp4`);
      const a = await source.stat();
      const b = await source.stat();
      expect(a.size).toBe(data.length);
      expect(a.fingerprint).toEqual(expect.any(String));
      expect(a.fingerprint).toBe(b.fingerprint);
      expect(a.fileName).toMatch(/\.mp4$/);
      expect(a.seekable).toBe(capabilities.seekable);
      expect(source.kind).toBe(name.startsWith('url') ? 'url' : 'file');
      expect(source.description).toEqual(expect.any(String));
    });

    it('read: the whole content from 0, then 0 at the end, position tracking every byte', async () => {
      const data = randomBytes(1024 * 1024 + 3);
      const source = await fx.make(data, `whole-${randomUUID()}.mp4`);
      const { fingerprint } = await source.stat();
      expect((await readAll(source, 0, fingerprint, 100_000)).equals(data)).toBe(true);
    });

    it('read: fills the target completely except at the end, whatever its size', async () => {
      const data = randomBytes(200_000);
      const source = await fx.make(data, `fill-${randomUUID()}.mp4`);
      const reader = await source.open({ start: 0 });
      try {
        const sizes: number[] = [];
        for (const size of [1, 7, 65_536, 100_000, 65_536])
          sizes.push(await reader.read(new Uint8Array(size)));
        expect(sizes).toEqual([1, 7, 65_536, 100_000, 200_000 - 1 - 7 - 65_536 - 100_000]);
      } finally {
        await reader.close();
      }
    });

    it('open({start}): never returns a byte before start', async () => {
      const data = randomBytes(500_000);
      const source = await fx.make(data, `offset-${randomUUID()}.mp4`);
      const { fingerprint } = await source.stat();
      for (const start of [1, 131_072, 499_999]) {
        expect((await readAll(source, start, fingerprint)).equals(data.subarray(start))).toBe(true);
      }
    });

    it('an empty source: size 0 and an immediate end', async () => {
      const source = await fx.make(Buffer.alloc(0), `empty-${randomUUID()}.mp4`);
      expect((await source.stat()).size).toBe(0);
      expect((await readAll(source)).length).toBe(0);
    });

    it('close() twice is safe; a read after an aborted signal fails with AbortError', async () => {
      const source = await fx.make(randomBytes(100_000), `close-${randomUUID()}.mp4`);
      const reader = await source.open({ start: 0 });
      await reader.close();
      await reader.close();
      const ac = new AbortController();
      ac.abort(new Error('stop'));
      await expect(source.stat(ac.signal)).rejects.toMatchObject({ name: 'AbortError' });
      await expect(source.open({ start: 0, signal: ac.signal })).rejects.toMatchObject({
        name: 'AbortError',
      });
    });

    it('a missing source is SOURCE_NOT_FOUND (fatal)', async () => {
      const err = await fx
        .missing()
        .stat()
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(SourceNotFoundError);
      expect(err).toMatchObject({ code: 'SOURCE_NOT_FOUND', retryable: false });
    });

    it('open with another fingerprint than the content has: SOURCE_CHANGED', async () => {
      const source = await fx.make(randomBytes(50_000), `fp-${randomUUID()}.mp4`);
      await expect(source.open({ start: 0, expectedFingerprint: 'not-this-content' })).rejects.toBeInstanceOf(
        SourceChangedError,
      );
    });

    if (capabilities.changes) {
      it('changes: new content gives a new fingerprint; the old one is refused on open', async () => {
        const source = await fx.make(randomBytes(80_000), `change-${randomUUID()}.mp4`);
        const before = await source.stat();
        await fx.change!(source, randomBytes(90_000));
        const after = await source.stat();
        expect(after.fingerprint).not.toBe(before.fingerprint);
        expect(after.size).toBe(90_000);
        await expect(
          source.open({ start: 0, expectedFingerprint: before.fingerprint }),
        ).rejects.toBeInstanceOf(SourceChangedError);
      });
    }
  });
}
