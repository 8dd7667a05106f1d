import { type MediaSpec, VodError } from '@mediaferry/core';
import { type Emulator, startEmulator } from '@mediaferry/emulator';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KiB, makeParts, vodClientFor } from './test-support/fixtures.js';
import type { VodClient } from './vod-client.js';
import { vodReferenceId } from './vod-reference-id.js';
import { VodStorageTarget } from './vod-storage.target.js';

/** Review F4: a Create… whose answer was lost is found again by ReferenceId, never created twice. */
let emu: Emulator;
let vod: VodClient;
beforeAll(async () => {
  emu = await startEmulator({ ossSignatures: 'v4-only' });
  vod = vodClientFor(emu);
});
afterAll(() => emu.close());
afterEach(() => emu.admin.resetFaults());

const prep = { fileName: 'clip.mp4', contentType: 'video/mp4', size: 10 * KiB };
let seq = 0;
const unique = (name: string) => `${name}-${Date.now()}-${++seq}`;

async function mediaTitled(title: string) {
  return (await emu.admin.listMedia()).filter((m) => m.title === title);
}

describe('vodReferenceId', () => {
  it('is deterministic and within VOD’s rules (6–64 letters, digits, - and _)', () => {
    expect(vodReferenceId('job-42')).toBe('mf-job-42');
    for (const key of ['a', 'job with spaces/and:colons', 'x'.repeat(100), 'äöü']) {
      const id = vodReferenceId(key);
      expect(id).toMatch(/^[A-Za-z0-9_-]{6,64}$/);
      expect(vodReferenceId(key)).toBe(id);
    }
    expect(vodReferenceId('a b')).not.toBe(vodReferenceId('a_b'));
  });
});

describe('VodStorageTarget with a ReferenceId', () => {
  it('tags the media with one derived from the upload key, or with the caller’s', async () => {
    const key = unique('job-tag');
    const dest = await new VodStorageTarget({ vod, media: { type: 'video', title: 't' } }).prepare({
      ...prep,
      uploadKey: key,
    });
    expect((await vod.getVideoInfo(dest.mediaId!)).video.referenceId).toBe(vodReferenceId(key));
    const own = unique('own_ref');
    const mine = await new VodStorageTarget({
      vod,
      media: { type: 'audio', title: 't', referenceId: own },
    }).prepare({ ...prep, uploadKey: unique('job') });
    expect((await vod.getVideoInfo(mine.mediaId!)).video.referenceId).toBe(own);
  });

  it('createAttempted: reattaches to the media an unseen Create… made, and uploads into it', async () => {
    const key = unique('job-lost');
    const title = unique('lost');
    const media: MediaSpec = { type: 'video', title };
    const first = await new VodStorageTarget({ vod, media }).prepare({ ...prep, uploadKey: key });
    const t = new VodStorageTarget({ vod, media });
    const dest = await t.prepare({ ...prep, uploadKey: key, createAttempted: true });
    expect(dest).toEqual(first);
    expect(t.isFindable(dest)).toBe(true);
    const data = makeParts([10 * KiB]);
    const uploadId = await t.initMultipart();
    await t.complete(uploadId, [await t.uploadPart(uploadId, 1, data.parts[0]!)]);
    await t.finalize();
    expect((await mediaTitled(title)).map((m) => [m.id, m.status])).toEqual([[first.mediaId, 'UploadSucc']]);
  });

  it('createAttempted with nothing found creates the media', async () => {
    const title = unique('none-found');
    const t = new VodStorageTarget({ vod, media: { type: 'video', title } });
    const dest = await t.prepare({ ...prep, uploadKey: unique('job'), createAttempted: true });
    expect((await mediaTitled(title)).map((m) => m.id)).toEqual([dest.mediaId]);
  });

  it('a duplicate-ReferenceId answer to Create… reattaches to the media holding it', async () => {
    const key = unique('job-dup');
    const title = unique('dup');
    const first = await new VodStorageTarget({ vod, media: { type: 'video', title } }).prepare({
      ...prep,
      uploadKey: key,
    });
    // No createAttempted (e.g. the first run's Create… landed after this run looked): the conflict tells.
    const dest = await new VodStorageTarget({ vod, media: { type: 'video', title } }).prepare({
      ...prep,
      uploadKey: key,
    });
    expect(dest.mediaId).toBe(first.mediaId);
    expect(await mediaTitled(title)).toHaveLength(1);
  });

  it('a caller’s ReferenceId already in use on a first attempt is a fatal VodError', async () => {
    const ref = unique('taken');
    const media: MediaSpec = { type: 'video', title: 'x', referenceId: ref };
    await new VodStorageTarget({ vod, media }).prepare({ ...prep, uploadKey: unique('job') });
    const err = await new VodStorageTarget({ vod, media })
      .prepare({ ...prep, uploadKey: unique('job') })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VodError);
    expect(err).toMatchObject({ vodCode: 'InvalidParameter', retryable: false });
  });

  it('never takes over a media past Uploading (its file would be overwritten)', async () => {
    const key = unique('job-done');
    const t = new VodStorageTarget({ vod, media: { type: 'video', title: 'done' } });
    await t.prepare({ ...prep, uploadKey: key });
    const uploadId = await t.initMultipart();
    await t.complete(uploadId, [await t.uploadPart(uploadId, 1, makeParts([KiB]).parts[0]!)]);
    const err = await new VodStorageTarget({ vod, media: { type: 'video', title: 'done' } })
      .prepare({ ...prep, uploadKey: key, createAttempted: true })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ vodCode: 'ReferenceIdInUse', retryable: false });
  });

  it('image/attached media get no ReferenceId and are never looked up', async () => {
    const since = (await emu.admin.requests()).at(-1)?.seq ?? 0;
    const t = new VodStorageTarget({ vod, media: { type: 'image', title: unique('img') } });
    const dest = await t.prepare({
      fileName: 'a.png',
      contentType: 'image/png',
      size: 10,
      uploadKey: 'job-img',
      createAttempted: true,
    });
    expect(t.isFindable(dest)).toBe(false);
    const actions = (await emu.admin.requests()).filter((r) => r.seq > since).map((r) => r.operation);
    expect(actions).toEqual(['CreateUploadImage']);
  });
});

describe('when CreateUploadVideo ignores ReferenceId (VOD does not document that it honours it)', () => {
  it('a lost Create… answer still ends with one completed media; the lost one stays empty', async () => {
    const lax = await startEmulator({ ossSignatures: 'v4-only', createReferenceId: 'ignore' });
    try {
      const laxVod = vodClientFor(lax);
      const key = unique('job-lax');
      const title = unique('lax');
      const media: MediaSpec = { type: 'video', title };
      // The first Create… reached VOD but its answer was lost: the media exists, unseen.
      const lost = await new VodStorageTarget({ vod: laxVod, media }).prepare({ ...prep, uploadKey: key });
      const t = new VodStorageTarget({ vod: laxVod, media });
      const dest = await t.prepare({ ...prep, uploadKey: key, createAttempted: true });
      // The lookup by ReferenceId cannot find it, so a second media is made and uploaded into.
      expect(dest.mediaId).not.toBe(lost.mediaId);
      const uploadId = await t.initMultipart();
      await t.complete(uploadId, [await t.uploadPart(uploadId, 1, makeParts([KiB]).parts[0]!)]);
      await t.finalize();
      const all = (await lax.admin.listMedia()).filter((m) => m.title === title);
      expect(all.map((m) => [m.id, m.status]).sort()).toEqual(
        [
          [dest.mediaId, 'UploadSucc'],
          [lost.mediaId, 'Uploading'],
        ].sort(),
      );
    } finally {
      await lax.close();
    }
  });
});
