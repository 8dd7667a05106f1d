import { AbortError, OwnershipLostError, SourceChangedError } from '@mediaferry/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Checkpoint } from './checkpoint-store.js';
import { abortAfterBytes, EngineFixture, MiB, md5 } from './test-support/engine-fixture.js';

/** Takeovers, cancels and vanished uploads: several engines on one checkpoint. */
let fx: EngineFixture;
beforeAll(async () => {
  fx = await EngineFixture.start();
});
afterAll(() => fx.close());
afterEach(() => fx.emu.admin.resetFaults());

/** Runs an engine until it has read `bytes`, leaving a checkpoint behind. */
async function startAndKill(uploadKey: string, file: string, bytes: number, title: string) {
  const ac = new AbortController();
  const run = fx.engine().run({
    uploadKey,
    source: abortAfterBytes(fx.fileSource(file), bytes, ac),
    target: fx.vodTarget({ type: 'video', title }),
    signal: ac.signal,
  });
  await expect(run).rejects.toBeInstanceOf(AbortError);
  const cp = await fx.store().get(uploadKey);
  expect(cp?.uploadId).toBeTruthy();
  return cp!;
}

describe('UploadEngine: concurrent engines, cancel, vanished uploads', () => {
  it('two engines resuming one checkpoint at once leave one intact object and one media', async () => {
    const file = await fx.writeFile(5 * MiB);
    const title = `race ${Date.now()}`;
    await startAndKill('job-race', file.path, MiB, title);
    // Slow parts down so both engines are mid-transfer together.
    await fx.emu.admin.delayResponses({ ms: 20, operation: 'UploadPart' });
    const runs = [0, 1].map(() =>
      fx.engine().run({
        uploadKey: 'job-race',
        source: fx.fileSource(file.path),
        target: fx.vodTarget({ type: 'video', title }),
      }),
    );
    const settled = await Promise.allSettled(runs);
    const ok = settled.filter((s) => s.status === 'fulfilled');
    const failed = settled.filter((s) => s.status === 'rejected');
    expect(ok.length).toBeGreaterThanOrEqual(1);
    for (const f of failed) expect((f as PromiseRejectedResult).reason).toBeInstanceOf(OwnershipLostError);
    const result = (ok[0] as PromiseFulfilledResult<Awaited<(typeof runs)[0]>>).value;
    const back = await fx.readBack(result.destination.bucket, result.destination.objectKey);
    expect(back.md5).toBe(md5(file.data));
    expect(back.crc64).toBe(result.crc64);
    expect((await fx.emu.admin.listMedia()).filter((m) => m.title === title)).toHaveLength(1);
    expect(await fx.emu.admin.listUploads(result.destination.bucket)).toEqual(
      expect.not.arrayContaining([expect.objectContaining({ key: result.destination.objectKey })]),
    );
  });

  it('the older engine stops with OwnershipLostError when a newer one claims its upload', async () => {
    const file = await fx.writeFile(4 * MiB);
    const title = `takeover ${Date.now()}`;
    await fx.emu.admin.delayResponses({ ms: 30, operation: 'UploadPart' });
    let claimed: Promise<Checkpoint | null> | undefined;
    const older = fx
      .engine({
        events: {
          onPartUploaded: () => {
            claimed ??= fx.store().claim('job-takeover', 'newer-engine');
          },
        },
      })
      .run({
        uploadKey: 'job-takeover',
        source: fx.fileSource(file.path),
        target: fx.vodTarget({ type: 'video', title }),
      });
    await expect(older).rejects.toBeInstanceOf(OwnershipLostError);
    const cp = await claimed;
    // Nothing was aborted: the multipart upload is still there for the new owner.
    const uploads = await fx.emu.admin.listUploads(cp!.destination!.bucket);
    expect(uploads.map((u) => u.uploadId)).toContain(cp!.uploadId);
    await fx.emu.admin.resetFaults();
    const result = await fx.engine().run({
      uploadKey: 'job-takeover',
      source: fx.fileSource(file.path),
      target: fx.vodTarget({ type: 'video', title }),
    });
    expect(result.resumed).toBe(true);
    expect((await fx.readBack(result.destination.bucket, result.destination.objectKey)).md5).toBe(
      md5(file.data),
    );
    expect((await fx.emu.admin.listMedia()).filter((m) => m.title === title)).toHaveLength(1);
  });

  it('recognises an upload completed by another engine (NoSuchUpload) when its CRC-64 matches', async () => {
    const file = await fx.writeFile(2 * MiB);
    const target = fx.ossTarget();
    const store = fx.store();
    let snapshot: Checkpoint | null = null;
    const first = await fx
      .engine({
        checkpoints: store,
        events: {
          onPartUploaded: () => {
            void store.get('job-twice').then((cp) => {
              if (cp && cp.parts.length === 16) snapshot = cp;
            });
          },
        },
      })
      .run({ uploadKey: 'job-twice', source: fx.fileSource(file.path), target });
    // The worker that completed it "crashed" before dropping its checkpoint: put the checkpoint back.
    expect(snapshot).not.toBeNull();
    const cp = snapshot as unknown as Checkpoint;
    await store.create('job-twice', 'crashed-worker', cp);
    for (const p of cp.parts) await store.recordPart('job-twice', 'crashed-worker', p);
    const since = (await fx.emu.admin.requests()).at(-1)?.seq ?? 0;
    const second = await fx
      .engine()
      .run({ uploadKey: 'job-twice', source: fx.fileSource(file.path), target });
    expect(second).toMatchObject({
      crc64: first.crc64,
      size: file.data.length,
      resumed: true,
      uploadedBytes: 0,
    });
    const log = await fx.emu.admin.requests({ since });
    expect(log.filter((e) => e.operation === 'UploadPart')).toHaveLength(0);
    expect(await store.get('job-twice')).toBeNull();
  });

  it('starts a new multipart upload for the same media when the old one is gone', async () => {
    const file = await fx.writeFile(3 * MiB);
    const title = `gone ${Date.now()}`;
    const cp = await startAndKill('job-gone', file.path, MiB, title);
    const target = fx.vodTarget({ type: 'video', title });
    await target.prepare({ existing: cp.destination!, fileName: 'x.mp4', contentType: null, size: null });
    await target.abort(cp.uploadId!);
    const result = await fx.engine().run({ uploadKey: 'job-gone', source: fx.fileSource(file.path), target });
    expect(result).toMatchObject({ resumed: true, skippedBytes: 0, uploadedBytes: file.data.length });
    expect(result.destination.mediaId).toBe(cp.destination!.mediaId);
    expect((await fx.readBack(result.destination.bucket, result.destination.objectKey)).md5).toBe(
      md5(file.data),
    );
    expect((await fx.emu.admin.listMedia()).filter((m) => m.title === title)).toHaveLength(1);
  });

  it('cancel from another engine stops the running one, aborts the upload and drops the checkpoint', async () => {
    const file = await fx.writeFile(4 * MiB);
    const title = `cancel ${Date.now()}`;
    await fx.emu.admin.delayResponses({ ms: 30, operation: 'UploadPart' });
    const canceller = fx.engine();
    let cancel: Promise<void> | undefined;
    let seen: Checkpoint | null = null;
    const running = fx
      .engine({
        events: {
          onPartUploaded: () => {
            cancel ??= fx
              .store()
              .get('job-cancel')
              .then((cp) => {
                seen = cp;
                return canceller.cancel('job-cancel', fx.vodTarget({ type: 'video', title }));
              });
          },
        },
      })
      .run({
        uploadKey: 'job-cancel',
        source: fx.fileSource(file.path),
        target: fx.vodTarget({ type: 'video', title }),
      });
    const outcome = await running.then(
      () => null,
      (err: unknown) => err,
    );
    await cancel;
    expect(outcome).toBeInstanceOf(OwnershipLostError);
    expect(await fx.store().get('job-cancel')).toBeNull();
    // The media, its file and its multipart upload are deleted (DeleteVideo).
    expect((await fx.emu.admin.listMedia()).filter((m) => m.title === title)).toEqual([]);
    const cp = seen as Checkpoint | null;
    const left = await fx.emu.admin.listUploads(cp!.destination!.bucket);
    expect(left.filter((u) => u.uploadId === cp!.uploadId)).toEqual([]);
    // Nothing to cancel twice.
    await canceller.cancel('job-cancel', fx.vodTarget());
  });

  it('a changed file fails with SourceChangedError: upload aborted, checkpoint dropped, media kept', async () => {
    const file = await fx.writeFile(3 * MiB);
    const title = `changed ${Date.now()}`;
    const cp = await startAndKill('job-changed', file.path, MiB, title);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(file.path, Buffer.concat([file.data, Buffer.from('more')]));
    const run = fx.engine().run({
      uploadKey: 'job-changed',
      source: fx.fileSource(file.path),
      target: fx.vodTarget({ type: 'video', title }),
    });
    await expect(run).rejects.toBeInstanceOf(SourceChangedError);
    expect(await fx.store().get('job-changed')).toBeNull();
    const uploads = await fx.emu.admin.listUploads(cp.destination!.bucket);
    expect(uploads.map((u) => u.uploadId)).not.toContain(cp.uploadId);
    expect((await fx.emu.admin.listMedia()).filter((m) => m.title === title)).toHaveLength(1);
  });

  it('starts over within the run when its multipart upload vanishes mid-transfer', async () => {
    const file = await fx.writeFile(3 * MiB);
    const key = `dir/vanish-${Date.now()}.mp4`;
    await fx.emu.admin.delayResponses({ ms: 10, operation: 'UploadPart' });
    let vanished: Promise<void> | undefined;
    const result = await fx
      .engine({
        events: {
          onPartUploaded: () => {
            // An OSS lifecycle rule (or an operator) aborts the incomplete upload.
            vanished ??= fx
              .store()
              .get('job-vanish')
              .then((cp) => fx.ossTarget(key).abort(cp!.uploadId!));
          },
        },
      })
      .run({ uploadKey: 'job-vanish', source: fx.fileSource(file.path), target: fx.ossTarget(key) });
    await vanished;
    expect((await fx.readBack(result.destination.bucket, key)).md5).toBe(md5(file.data));
  });
});
