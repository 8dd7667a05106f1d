import { randomUUID } from 'node:crypto';
import {
  CredentialsExpiredError,
  NoSuchUploadError,
  type PrepareOptions,
  type StorageTarget,
  type UploadDestination,
} from '@mediaferry/core';
import { crc64 } from '@mediaferry/crc64';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { byNumber, KiB, makeParts } from './fixtures.js';

/**
 * One suite every `StorageTarget` runs (tus-node-server style: capability slices a target opts into),
 * next to the CheckpointStore and Source suites. It checks the contract of
 * `packages/core/src/storage-target.ts` as the engine relies on it, against the emulator.
 */

export interface TargetFixture {
  /** File name prepare() is given (VOD checks the extension against the media type). */
  fileName: string;
  /** A fresh target for a new upload (its own media / key). */
  make(): StorageTarget;
  /** A second target for the same job, as another worker process would build it. */
  again(first: StorageTarget): StorageTarget;
  /** The object's bytes read back with the account key, or null when it does not exist. */
  read(destination: UploadDestination): Promise<Buffer | null>;
  /** Open multipart upload ids at the destination's key. */
  openUploads(destination: UploadDestination): Promise<string[]>;
  /** Expires every STS credential the emulator issued (slice `credentials`). */
  expireCredentials?(): Promise<void>;
  teardown(): Promise<void>;
}

export interface TargetCapabilities {
  /** A second process reattaches to a checkpoint's destination (`prepare({existing})` gives it back). */
  reattach: boolean;
  /** Credentials expire: `refreshable` (video/audio), `unrefreshable` (image/attached), or `none`. */
  credentials: 'refreshable' | 'unrefreshable' | 'none';
}

export function storageTargetConformance(
  name: string,
  setup: () => Promise<TargetFixture>,
  capabilities: TargetCapabilities,
): void {
  describe(`StorageTarget conformance: ${name}`, () => {
    let fx: TargetFixture;
    let uploadKey = '';
    const prep = (o: Partial<PrepareOptions> = {}): PrepareOptions => ({
      uploadKey,
      fileName: fx.fileName,
      contentType: null,
      size: null,
      ...o,
    });
    beforeEach(async () => {
      fx = await setup();
      uploadKey = `job-${randomUUID()}`;
    });
    afterEach(async () => {
      await fx.teardown();
    });

    it('prepare is idempotent on one target; head is null before complete', async () => {
      const t = fx.make();
      const a = await t.prepare(prep());
      const b = await t.prepare(prep());
      expect(b).toEqual(a);
      expect(a.bucket).toEqual(expect.any(String));
      expect(a.objectKey).toEqual(expect.any(String));
      expect(await t.head()).toBeNull();
    });

    it('multipart: parts listed as sent, complete gives the CRC-64 and size, head agrees, bytes intact', async () => {
      const t = fx.make();
      const dest = await t.prepare(prep());
      const { parts, whole, crc64: crc } = makeParts([100 * KiB, 100 * KiB, 37 * KiB]);
      const id = await t.initMultipart();
      const sent = [];
      // Out of order, as parallel uploads finish.
      for (const n of [3, 1, 2]) sent.push(await t.uploadPart(id, n, parts[n - 1]!));
      for (const p of sent) {
        expect(p.etag).toMatch(/^".+"$/);
        expect(p.size).toBe(parts[p.partNumber - 1]!.length);
        if (p.crc64 !== undefined) expect(p.crc64).toBe(crc64(parts[p.partNumber - 1]!).toString());
      }
      const listed = byNumber(await t.listParts(id));
      expect(listed.map((p) => [p.partNumber, p.size, p.etag])).toEqual(
        byNumber(sent).map((p) => [p.partNumber, p.size, p.etag]),
      );
      const done = await t.complete(id, byNumber(sent));
      expect(done.crc64).toBe(crc);
      expect(await t.head()).toMatchObject({ crc64: crc, size: whole.length });
      expect((await fx.read(dest))?.equals(whole)).toBe(true);
      expect(await fx.openUploads(dest)).toEqual([]);
    });

    it('progress: onBytesSent grows monotonically to the part size', async () => {
      const t = fx.make();
      await t.prepare(prep());
      const id = await t.initMultipart();
      const seen: number[] = [];
      const body = makeParts([300 * KiB]).parts[0]!;
      await t.uploadPart(id, 1, body, { onBytesSent: (n) => seen.push(n) });
      expect(seen.at(-1)).toBe(body.length);
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
      await t.abort(id);
    });

    it('abort: the upload is gone (NoSuchUploadError) and a second abort is harmless', async () => {
      const t = fx.make();
      const dest = await t.prepare(prep());
      const id = await t.initMultipart();
      await t.uploadPart(id, 1, makeParts([100 * KiB]).parts[0]!);
      await t.abort(id);
      await t.abort(id);
      await expect(t.listParts(id)).rejects.toBeInstanceOf(NoSuchUploadError);
      await expect(t.uploadPart(id, 2, makeParts([10])!.parts[0]!)).rejects.toBeInstanceOf(NoSuchUploadError);
      expect(await fx.openUploads(dest)).toEqual([]);
    });

    it('an aborted signal ends an operation with AbortError', async () => {
      const t = fx.make();
      await t.prepare(prep());
      const id = await t.initMultipart();
      const ac = new AbortController();
      ac.abort(new Error('stop'));
      await expect(
        t.uploadPart(id, 1, makeParts([100 * KiB]).parts[0]!, { signal: ac.signal }),
      ).rejects.toMatchObject({ name: 'AbortError' });
      await t.abort(id);
    });

    it('putObject: one request, the CRC-64 of the body, no multipart upload', async () => {
      const t = fx.make();
      if (!t.putObject) throw new Error(`${name} has no putObject: the engine needs it for small sources`);
      const dest = await t.prepare(prep());
      const { whole, crc64: crc } = makeParts([150 * KiB]);
      const done = await t.putObject(whole);
      expect(done).toMatchObject({ crc64: crc, size: whole.length });
      expect(await t.head()).toMatchObject({ crc64: crc, size: whole.length });
      expect((await fx.read(dest))?.equals(whole)).toBe(true);
    });

    // Deleting a VOD media leaves its OSS multipart uploads open (VOD does not track them, and STS
    // cannot revoke the token that started them), so the engine aborts before it discards; so does this.
    it('discard: what the upload created is gone once its open upload is aborted', async () => {
      const t = fx.make();
      if (!t.discard) throw new Error(`${name} has no discard: a cancel could not clean up`);
      const dest = await t.prepare(prep());
      const id = await t.initMultipart();
      await t.uploadPart(id, 1, makeParts([100 * KiB]).parts[0]!);
      await t.abort(id);
      await t.discard(dest);
      await t.discard(dest); // twice is harmless
      expect(await fx.read(dest)).toBeNull();
      expect(await fx.openUploads(dest)).toEqual([]);
    });

    if (capabilities.reattach) {
      it('reattach: another process continues the same upload from a checkpoint', async () => {
        const first = fx.make();
        const dest = await first.prepare(prep());
        const { parts, whole } = makeParts([100 * KiB, 20 * KiB]);
        const id = await first.initMultipart();
        const p1 = await first.uploadPart(id, 1, parts[0]!);
        const second = fx.again(first);
        expect(await second.prepare(prep({ existing: dest }))).toEqual(dest);
        expect((await second.listParts(id)).map((p) => p.etag)).toEqual([p1.etag]);
        const p2 = await second.uploadPart(id, 2, parts[1]!);
        await second.complete(id, [p1, p2]);
        expect((await fx.read(dest))?.equals(whole)).toBe(true);
      });
    } else {
      it('no reattach: another process gets a new destination (the engine starts over into it)', async () => {
        const first = fx.make();
        const dest = await first.prepare(prep());
        const second = fx.again(first);
        const next = await second.prepare(prep({ existing: dest }));
        expect(next.mediaId).not.toBe(dest.mediaId);
        expect(second.isFindable?.(next) ?? false).toBe(false);
      });
    }

    if (capabilities.credentials !== 'none') {
      it(`credentials: an expired one is ${capabilities.credentials === 'refreshable' ? 'refreshed and counted' : 'refused as unrefreshable'}`, async () => {
        const t = fx.make();
        await t.prepare(prep());
        const id = await t.initMultipart();
        expect(t.credentialRefreshes).toBe(0);
        await fx.expireCredentials!();
        const body = makeParts([100 * KiB]).parts[0]!;
        if (capabilities.credentials === 'refreshable') {
          await t.uploadPart(id, 1, body);
          expect(t.credentialRefreshes).toBe(1);
          await t.abort(id);
        } else {
          const err = await t.uploadPart(id, 1, body).then(
            () => null,
            (e: unknown) => e,
          );
          expect(err).toBeInstanceOf(CredentialsExpiredError);
          expect((err as CredentialsExpiredError).details).toMatchObject({ refreshable: false });
        }
      });
    }
  });
}
