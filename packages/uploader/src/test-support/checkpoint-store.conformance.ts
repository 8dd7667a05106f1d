import { randomUUID } from 'node:crypto';
import { OwnershipLostError } from '@mediaferry/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CheckpointPart, CheckpointStore, UploadState } from '../checkpoint-store.js';

export interface StoreFixture {
  store: CheckpointStore;
  /** Stops what the fixture started. */
  teardown(): Promise<void>;
}

/** A state with values that catch lossy encodings (sizes beyond 2^32 and 10^14, unicode, nulls). */
export function sampleState(overrides: Partial<UploadState> = {}): UploadState {
  return {
    fingerprint: 'size=53656774705971;mtime=1732240000123;ino=42',
    totalSize: 53_656_774_705_971,
    fileName: 'clip «é».mp4',
    contentType: 'video/mp4',
    plan: { kind: 'fixed', partSize: 5_366_611_968, totalSize: 53_656_774_705_971 },
    destination: null,
    uploadId: null,
    createdAt: 1_732_240_000_123,
    ...overrides,
  };
}

export function samplePart(partNumber: number, partSize = 1_048_576): CheckpointPart {
  return {
    partNumber,
    offset: (partNumber - 1) * partSize,
    size: partSize,
    etag: `"${partNumber.toString(16).padStart(32, '0').toUpperCase()}"`,
    crc64: (18_446_744_073_709_551_615n - BigInt(partNumber)).toString(),
  };
}

function shuffled<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** One suite every CheckpointStore implementation runs (tus-style conformance). */
export function checkpointStoreConformance(name: string, setup: () => Promise<StoreFixture>): void {
  describe(`CheckpointStore conformance: ${name}`, () => {
    let fixture: StoreFixture;
    let store: CheckpointStore;
    let key: string;
    beforeEach(async () => {
      fixture = await setup();
      store = fixture.store;
      key = `job_${randomUUID()}`;
    });
    afterEach(async () => {
      await fixture.teardown();
    });

    it('returns null for an unknown upload', async () => {
      await expect(store.get(key)).resolves.toBeNull();
      await expect(store.claim(key, 'a')).resolves.toBeNull();
      await expect(store.delete(key)).resolves.toBe(false);
    });

    it('creates once and round-trips every field exactly', async () => {
      const state = sampleState();
      await expect(store.create(key, 'owner-a', state)).resolves.toBe(true);
      await expect(store.create(key, 'owner-b', sampleState({ fingerprint: 'other' }))).resolves.toBe(false);
      const cp = await store.get(key);
      expect(cp).toEqual({ ...state, uploadKey: key, owner: 'owner-a', parts: [] });
    });

    it('lets exactly one of many concurrent creators win', async () => {
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => store.create(key, `owner-${i}`, sampleState())),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect((await store.get(key))?.owner).toBe(`owner-${winner}`);
    });

    it('creates with a destination and an upload id', async () => {
      const destination = {
        mediaId: 'v-1',
        mediaType: 'video' as const,
        bucket: 'b',
        objectKey: 'sv/x/y.mp4',
        url: null,
      };
      await store.create(key, 'a', sampleState({ destination, uploadId: 'U1' }));
      const cp = await store.get(key);
      expect(cp?.destination).toEqual(destination);
      expect(cp?.uploadId).toBe('U1');
    });

    it('records parts that complete out of order, concurrently', async () => {
      await store.create(key, 'a', sampleState());
      const numbers = shuffled(Array.from({ length: 120 }, (_, i) => i + 1));
      await Promise.all(numbers.map((n) => store.recordPart(key, 'a', samplePart(n))));
      const cp = await store.get(key);
      expect(cp?.parts.map((p) => p.partNumber)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
      expect(cp?.parts[41]).toEqual(samplePart(42));
    });

    it('replaces a part recorded twice (a duplicate upload is harmless)', async () => {
      await store.create(key, 'a', sampleState());
      await store.recordPart(key, 'a', samplePart(3));
      const again = { ...samplePart(3), etag: '"ABC"', crc64: '7' };
      await store.recordPart(key, 'a', again);
      expect((await store.get(key))?.parts).toEqual([again]);
    });

    it('updates fields, clears parts on request, and removes a field set to null', async () => {
      await store.create(key, 'a', sampleState());
      const destination = {
        mediaId: null,
        mediaType: 'video' as const,
        bucket: 'b',
        objectKey: 'k',
        url: 'u',
      };
      await store.update(key, 'a', { destination, uploadId: 'U1' });
      await store.recordPart(key, 'a', samplePart(1));
      await store.update(key, 'a', { uploadId: 'U2' });
      let cp = await store.get(key);
      expect(cp?.uploadId).toBe('U2');
      expect(cp?.destination).toEqual(destination);
      expect(cp?.parts).toHaveLength(1);
      await store.update(key, 'a', { uploadId: 'U3' }, { clearParts: true });
      cp = await store.get(key);
      expect(cp?.uploadId).toBe('U3');
      expect(cp?.parts).toEqual([]);
      await store.update(key, 'a', { uploadId: null });
      expect((await store.get(key))?.uploadId).toBeNull();
    });

    it('gives the checkpoint to the newest claimant; the old owner can no longer write', async () => {
      await store.create(key, 'a', sampleState({ uploadId: 'U1' }));
      await store.recordPart(key, 'a', samplePart(1));
      const claimed = await store.claim(key, 'b');
      expect(claimed?.owner).toBe('b');
      expect(claimed?.uploadId).toBe('U1');
      expect(claimed?.parts).toEqual([samplePart(1)]);
      await expect(store.recordPart(key, 'a', samplePart(2))).rejects.toBeInstanceOf(OwnershipLostError);
      await expect(store.update(key, 'a', { uploadId: 'X' })).rejects.toBeInstanceOf(OwnershipLostError);
      await expect(store.assertOwner(key, 'a')).rejects.toBeInstanceOf(OwnershipLostError);
      await expect(store.delete(key, 'a')).resolves.toBe(false);
      await store.assertOwner(key, 'b');
      await store.recordPart(key, 'b', samplePart(2));
      const cp = await store.get(key);
      expect(cp?.parts.map((p) => p.partNumber)).toEqual([1, 2]);
      expect(cp?.uploadId).toBe('U1');
    });

    it('never records a part of an owner after a concurrent claim took over', async () => {
      await store.create(key, 'a', sampleState());
      const accepted: number[] = [];
      let claimedAt = -1;
      const writes = Array.from({ length: 200 }, (_, i) =>
        store.recordPart(key, 'a', samplePart(i + 1)).then(
          () => accepted.push(i + 1),
          (err: unknown) => {
            expect(err).toBeInstanceOf(OwnershipLostError);
          },
        ),
      );
      const claim = store.claim(key, 'b').then(() => {
        claimedAt = accepted.length;
      });
      await Promise.all([...writes, claim]);
      const recorded = (await store.get(key))?.parts.map((p) => p.partNumber);
      expect(recorded).toEqual([...accepted].sort((x, y) => x - y));
      expect(claimedAt).toBeGreaterThanOrEqual(0);
      await expect(store.recordPart(key, 'a', samplePart(500))).rejects.toBeInstanceOf(OwnershipLostError);
    });

    it('treats a deleted checkpoint as lost ownership', async () => {
      await store.create(key, 'a', sampleState());
      await expect(store.delete(key)).resolves.toBe(true);
      await expect(store.get(key)).resolves.toBeNull();
      await expect(store.recordPart(key, 'a', samplePart(1))).rejects.toBeInstanceOf(OwnershipLostError);
      await expect(store.update(key, 'a', { uploadId: 'U' })).rejects.toBeInstanceOf(OwnershipLostError);
      await expect(store.assertOwner(key, 'a')).rejects.toBeInstanceOf(OwnershipLostError);
      // A late write must not resurrect a partial checkpoint.
      await expect(store.get(key)).resolves.toBeNull();
    });

    it('holds off claimants while another owner prepares the destination, until its lease expires', async () => {
      const lease = (now: number) => ({ preparingLease: { now, leaseMs: 1000 } });
      await store.create(key, 'a', sampleState({ preparingSince: 1000 }));
      expect((await store.claim(key, 'b', lease(1500)))?.owner).toBe('a');
      expect((await store.get(key))?.owner).toBe('a');
      // The lease holder itself claims freely (and renews); a cancel ignores the lease.
      expect(await store.claim(key, 'a', lease(1600))).toMatchObject({ owner: 'a', preparingSince: 1600 });
      expect((await store.claim(key, 'b', lease(2599)))?.owner).toBe('a');
      expect(await store.claim(key, 'b', lease(2600))).toMatchObject({ owner: 'b', preparingSince: 2600 });
      // A recorded destination ends the lease: anyone claims.
      const destination = {
        mediaId: 'v',
        mediaType: 'video' as const,
        bucket: 'b',
        objectKey: 'k',
        url: null,
      };
      await store.update(key, 'b', { destination, preparingSince: null });
      expect((await store.get(key))?.preparingSince).toBeUndefined();
      expect((await store.claim(key, 'c', lease(2602)))?.owner).toBe('c');
      // A claim without the lease option (a cancel) ignores a lease.
      const other = `${key}-other`;
      await store.create(other, 'a', sampleState({ preparingSince: 1000 }));
      expect((await store.claim(other, 'cancel:x'))?.owner).toBe('cancel:x');
      await store.delete(other);
    });

    it('deletes only for the current owner when an owner is given', async () => {
      await store.create(key, 'a', sampleState());
      await expect(store.delete(key, 'b')).resolves.toBe(false);
      await expect(store.delete(key, 'a')).resolves.toBe(true);
      await expect(store.get(key)).resolves.toBeNull();
    });

    it('keeps uploads apart', async () => {
      const other = `${key}-other`;
      await store.create(key, 'a', sampleState());
      await store.create(other, 'b', sampleState({ fingerprint: 'f2', totalSize: null }));
      await store.recordPart(other, 'b', samplePart(9));
      expect((await store.get(key))?.parts).toEqual([]);
      expect((await store.get(other))?.totalSize).toBeNull();
      await store.delete(other);
      expect(await store.get(key)).not.toBeNull();
    });

    it('returns copies: mutating a result changes nothing stored', async () => {
      await store.create(key, 'a', sampleState());
      await store.recordPart(key, 'a', samplePart(1));
      const cp = await store.get(key);
      cp!.parts[0]!.etag = 'mutated';
      cp!.plan = { kind: 'fixed', partSize: 1, totalSize: 1 };
      const again = await store.get(key);
      expect(again?.parts[0]?.etag).toBe(samplePart(1).etag);
      expect(again?.plan).toEqual(sampleState().plan);
    });
  });
}
