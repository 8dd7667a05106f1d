import { AbortError, OwnershipLostError, type StorageTarget } from '@mediaferry/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { delegateTarget as delegate } from './test-support/delegate-target.js';
import { abortAfterBytes, EngineFixture, MiB } from './test-support/engine-fixture.js';

/** Cancel against a run that is completing, and cancel of VOD media (review F2, F3, F9). */
let fx: EngineFixture;
beforeAll(async () => {
  fx = await EngineFixture.start();
});
afterAll(() => fx.close());
afterEach(() => fx.emu.admin.resetFaults());

/** Runs until 1 MiB was read, then stops: a checkpoint with a multipart upload in progress. */
async function interrupted(uploadKey: string, target: StorageTarget, ext = 'mp4') {
  const file = await fx.writeFile(2 * MiB, `${uploadKey}.${ext}`);
  const ac = new AbortController();
  const run = fx.engine().run({
    uploadKey,
    source: abortAfterBytes(fx.fileSource(file.path), MiB, ac),
    target,
    signal: ac.signal,
  });
  await expect(run).rejects.toBeInstanceOf(AbortError);
  const cp = await fx.store().get(uploadKey);
  expect(cp?.uploadId).toBeTruthy();
  return cp!;
}

const uploadsOf = async (bucket: string, uploadId: string) =>
  (await fx.emu.admin.listUploads(bucket)).filter((u) => u.uploadId === uploadId);

describe('UploadEngine.cancel', () => {
  it('a cancel landing while the owner completes wins: the run does not succeed and nothing is left', async () => {
    const file = await fx.writeFile(MiB);
    const key = `dir/cancel-complete-${Date.now()}.mp4`;
    const real = fx.ossTarget(key);
    let canceled: unknown = 'not run';
    // Another worker's DELETE /v1/jobs/:id lands right after CompleteMultipartUpload succeeded.
    const target = delegate(real, {
      complete: async (uploadId, parts, signal) => {
        const done = await real.complete(uploadId, parts, signal);
        canceled = await fx
          .engine()
          .cancel('job-cancel-complete', fx.ossTarget(key))
          .then(
            () => 'canceled',
            (e: unknown) => e,
          );
        return done;
      },
    });
    const run = fx
      .engine()
      .run({ uploadKey: 'job-cancel-complete', source: fx.fileSource(file.path), target });
    await expect(run).rejects.toBeInstanceOf(OwnershipLostError);
    expect(canceled).toBe('canceled');
    const objects = await fx.emu.admin.listObjects(fx.emu.buckets[0]!);
    expect(objects.filter((o) => o.key === key)).toEqual([]);
    expect(await fx.store().get('job-cancel-complete')).toBeNull();
  });

  it('a cancel landing between the last part and complete wins: the run does not succeed, nothing left', async () => {
    const file = await fx.writeFile(MiB);
    const key = `dir/cancel-before-complete-${Date.now()}.mp4`;
    const real = fx.ossTarget(key);
    let canceled: unknown = 'not run';
    // The first complete attempt is not preceded by an ownership check (the last part's record was one).
    const target = delegate(real, {
      complete: async (uploadId, parts, signal) => {
        canceled = await fx
          .engine()
          .cancel('job-cancel-before-complete', fx.ossTarget(key))
          .then(
            () => 'canceled',
            (e: unknown) => e,
          );
        return await real.complete(uploadId, parts, signal);
      },
    });
    const run = fx
      .engine()
      .run({ uploadKey: 'job-cancel-before-complete', source: fx.fileSource(file.path), target });
    await expect(run).rejects.toBeInstanceOf(OwnershipLostError);
    expect(canceled).toBe('canceled');
    const objects = await fx.emu.admin.listObjects(fx.emu.buckets[0]!);
    expect(objects.filter((o) => o.key === key)).toEqual([]);
    expect(await fx.store().get('job-cancel-before-complete')).toBeNull();
  });

  it('a cancel after a completed run that never dropped its checkpoint deletes the object', async () => {
    const file = await fx.writeFile(MiB);
    const key = `dir/cancel-after-complete-${Date.now()}.mp4`;
    const real = fx.ossTarget(key);
    // The worker dies between CompleteMultipartUpload and deleting the checkpoint.
    const ac = new AbortController();
    const target = delegate(real, {
      complete: async (uploadId, parts, signal) => {
        const done = await real.complete(uploadId, parts, signal);
        ac.abort(new Error('worker died'));
        return done;
      },
    });
    const run = fx
      .engine()
      .run({ uploadKey: 'job-died', source: fx.fileSource(file.path), target, signal: ac.signal });
    await expect(run).rejects.toBeInstanceOf(AbortError);
    expect((await fx.emu.admin.listObjects(fx.emu.buckets[0]!)).filter((o) => o.key === key)).toHaveLength(1);
    await fx.engine().cancel('job-died', fx.ossTarget(key));
    expect((await fx.emu.admin.listObjects(fx.emu.buckets[0]!)).filter((o) => o.key === key)).toEqual([]);
  });

  it('a cancel of a plain OSS upload never deletes an object that is not the upload’s', async () => {
    const key = `dir/cancel-keeps-${Date.now()}.mp4`;
    const cp = await interrupted('job-oss-keep', fx.ossTarget(key));
    // Someone else's object at the key (the upload would have replaced it on completion).
    const other = await fx.writeFile(3 * MiB);
    await fx
      .engine()
      .run({ uploadKey: 'job-other', source: fx.fileSource(other.path), target: fx.ossTarget(key) });
    await fx.engine().cancel('job-oss-keep', fx.ossTarget(key));
    expect(await uploadsOf(fx.emu.buckets[0]!, cp.uploadId!)).toEqual([]);
    expect((await fx.readBack(fx.emu.buckets[0]!, key)).data.equals(other.data)).toBe(true);
  });

  it('cancel of a VOD video deletes its media, file and upload (nothing left behind)', async () => {
    const title = `video-cancel ${Date.now()}`;
    const cp = await interrupted('job-video-cancel', fx.vodTarget({ type: 'video', title }));
    await fx.engine().cancel('job-video-cancel', fx.vodTarget({ type: 'video', title }));
    expect((await fx.emu.admin.listMedia()).filter((m) => m.title === title)).toEqual([]);
    expect(await uploadsOf(cp.destination!.bucket, cp.uploadId!)).toEqual([]);
    expect(await fx.store().get('job-video-cancel')).toBeNull();
  });

  it('cancel of an image deletes its media and with it its upload, from a fresh target or its own', async () => {
    const title = `image-cancel ${Date.now()}`;
    const before = (await fx.emu.admin.listMedia()).length;
    // Another process (no credential for the image's upload): DeleteImage takes media and upload.
    const cp = await interrupted('job-image-fresh', fx.vodTarget({ type: 'image', title }), 'png');
    expect((await fx.emu.admin.listMedia()).length - before).toBe(1);
    await fx.engine().cancel('job-image-fresh', fx.vodTarget({ type: 'image', title }));
    expect((await fx.emu.admin.listMedia()).length - before).toBe(0);
    expect(await fx.store().get('job-image-fresh')).toBeNull();
    expect(await uploadsOf(cp.destination!.bucket, cp.uploadId!)).toEqual([]);

    // The process running it (the worker cancels with the running job's target): aborted and deleted.
    const own = fx.vodTarget({ type: 'image', title: `${title} own` });
    const mine = await interrupted('job-image-own', own, 'png');
    await fx.engine().cancel('job-image-own', own);
    expect(await uploadsOf(mine.destination!.bucket, mine.uploadId!)).toEqual([]);
    expect((await fx.emu.admin.listMedia()).length - before).toBe(0);
  });
});
