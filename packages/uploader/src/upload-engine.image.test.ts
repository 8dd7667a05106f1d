import { randomUUID } from 'node:crypto';
import { AbortError } from '@mediaferry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { delegateTarget } from './test-support/delegate-target.js';
import { EngineFixture, KiB, md5 } from './test-support/engine-fixture.js';

let fx: EngineFixture;
beforeAll(async () => {
  fx = await EngineFixture.start();
});
afterAll(async () => {
  await fx?.close();
});

/** Media of this test (by title) and the VOD bucket's open multipart uploads. */
async function leftovers(title: string) {
  const media = (await fx.emu.admin.listMedia()).filter((m) => m.title === title);
  const uploads = await fx.emu.admin.listUploads(fx.emu.vodBucket);
  return { media, uploads };
}

describe('UploadEngine (image media: credentials VOD cannot refresh)', () => {
  it('replaces an expired image credential within the run: new media, old one deleted, nothing left open', async () => {
    const title = `image ${randomUUID()}`;
    const file = await fx.writeFile(700 * KiB, `${randomUUID()}.jpg`); // 6 parts of 128 KiB
    let expired = false;
    const engine = fx.engine({
      parallelism: 1,
      events: {
        onPartUploaded: () => {
          if (!expired) {
            expired = true;
            void fx.emu.admin.expireCredentials();
          }
        },
      },
    });
    const since = (await fx.emu.admin.requests()).at(-1)?.seq ?? 0;
    const result = await engine.run({
      uploadKey: `job-${randomUUID()}`,
      source: fx.fileSource(file.path),
      target: fx.vodTarget({ type: 'image', title }),
    });
    const log = await fx.emu.admin.requests({ since });
    expect(log.filter((e) => e.operation === 'CreateUploadImage')).toHaveLength(2);
    expect(log.filter((e) => e.operation === 'DeleteImage')).toHaveLength(1);
    // The expired token is not retried in place: at most one refused UploadPart per part in flight.
    const refused = log.filter((e) => e.operation === 'UploadPart' && e.status === 403);
    expect(refused.length).toBeLessThanOrEqual(2);
    const { media, uploads } = await leftovers(title);
    expect(media.map((m) => m.id)).toEqual([result.destination.mediaId]);
    expect(uploads).toEqual([]);
    const back = await fx.readBack(result.destination.bucket, result.destination.objectKey);
    expect(back.md5).toBe(md5(file.data));
  });

  it('sends a source of at most one part with a single PutObject (no multipart upload to leak)', async () => {
    const title = `image ${randomUUID()}`;
    const file = await fx.writeFile(100 * KiB, `${randomUUID()}.png`);
    const since = (await fx.emu.admin.requests()).at(-1)?.seq ?? 0;
    const result = await fx.engine().run({
      uploadKey: `job-${randomUUID()}`,
      source: fx.fileSource(file.path),
      target: fx.vodTarget({ type: 'image', title }),
    });
    const ops = (await fx.emu.admin.requests({ since })).map((e) => e.operation);
    expect(ops).toContain('PutObject');
    expect(ops).not.toContain('InitiateMultipartUpload');
    expect(result).toMatchObject({ size: 100 * KiB, uploadedBytes: 100 * KiB });
    const back = await fx.readBack(result.destination.bucket, result.destination.objectKey);
    expect(back.md5).toBe(md5(file.data));
    expect(back.crc64).toBe(result.crc64);
    const { media } = await leftovers(title);
    expect(media).toMatchObject([{ id: result.destination.mediaId, status: 'Normal' }]);
  });

  it('single PutObject: an expired image credential is replaced too', async () => {
    const title = `image ${randomUUID()}`;
    const file = await fx.writeFile(90 * KiB, `${randomUUID()}.jpg`);
    const target = fx.vodTarget({ type: 'image', title });
    const engine = fx.engine();
    const uploadKey = `job-${randomUUID()}`;
    // Expire the credential between prepare and the PutObject: the source's first read does it.
    const source = fx.fileSource(file.path);
    let expired = false;
    const expiring = {
      ...source,
      kind: source.kind,
      description: source.description,
      stat: (signal?: AbortSignal) => source.stat(signal),
      open: async (o: Parameters<typeof source.open>[0]) => {
        if (!expired) {
          expired = true;
          await fx.emu.admin.expireCredentials();
        }
        return source.open(o);
      },
    };
    const result = await engine.run({ uploadKey, source: expiring, target });
    const { media, uploads } = await leftovers(title);
    expect(media.map((m) => m.id)).toEqual([result.destination.mediaId]);
    expect(uploads).toEqual([]);
    const back = await fx.readBack(result.destination.bucket, result.destination.objectKey);
    expect(back.md5).toBe(md5(file.data));
  });
});

describe('UploadEngine (a multipart upload started but never recorded)', () => {
  it('a later attempt aborts the upload a killed one initiated before recording it', async () => {
    const file = await fx.writeFile(700 * KiB, `${randomUUID()}.mp4`);
    const key = `dir/unrecorded-${randomUUID()}.mp4`;
    const uploadKey = `job-${randomUUID()}`;
    const real = fx.ossTarget(key);
    const ac = new AbortController();
    // The worker dies right after InitiateMultipartUpload answered, before the checkpoint write.
    const dying = delegateTarget(real, {
      initMultipart: async (signal) => {
        await real.initMultipart(signal);
        ac.abort(new Error('SIGKILL'));
        throw new AbortError('killed');
      },
    });
    await expect(
      fx.engine().run({ uploadKey, source: fx.fileSource(file.path), target: dying, signal: ac.signal }),
    ).rejects.toBeInstanceOf(AbortError);
    const openAt = async () =>
      (await fx.emu.admin.listUploads(fx.emu.buckets[0]!))
        .filter((u) => u.key === key)
        .map((u) => u.uploadId);
    expect(await openAt()).toHaveLength(1);

    const result = await fx
      .engine()
      .run({ uploadKey, source: fx.fileSource(file.path), target: fx.ossTarget(key) });
    expect(result.resumed).toBe(true);
    expect(await openAt()).toEqual([]);
    expect((await fx.readBack(result.destination.bucket, key)).md5).toBe(md5(file.data));
  });
});
