import { VodClient, VodStorageTarget } from '@mediaferry/aliyun';
import { AbortError, OwnershipLostError, VodError } from '@mediaferry/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EngineFixture, MiB, md5 } from './test-support/engine-fixture.js';

/**
 * Two engines start the same job with no checkpoint yet (a stalled-job re-dispatch while the first
 * worker is alive): one VOD media only (review F5).
 */
let fx: EngineFixture;
beforeAll(async () => {
  fx = await EngineFixture.start();
});
afterAll(() => fx.close());
afterEach(() => fx.emu.admin.resetFaults());

describe('UploadEngine: two engines on a fresh job', () => {
  it('creates one VOD media: the second engine waits for the first one’s destination', async () => {
    const file = await fx.writeFile(2 * MiB);
    const title = `fresh-race ${Date.now()}`;
    // CreateUploadVideo takes 100 ms (a real VOD round trip is of that order).
    await fx.emu.admin.delayResponses({ ms: 100, service: 'vod', operation: 'CreateUploadVideo' });
    const runs = [0, 1].map(() =>
      fx.engine().run({
        uploadKey: 'job-fresh-race',
        source: fx.fileSource(file.path),
        target: fx.vodTarget({ type: 'video', title }),
      }),
    );
    const settled = await Promise.allSettled(runs);
    const ok = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    // The loser either notices the other engine's claim (OwnershipLostError) or, when the winner already
    // finished and dropped the checkpoint, finds the job's ReferenceId on an uploaded media it must not
    // overwrite (ReferenceIdInUse). Both leave exactly one intact media, checked below.
    for (const s of settled) {
      if (s.status === 'rejected' && !(s.reason instanceof OwnershipLostError)) {
        expect(s.reason).toMatchObject({ vodCode: 'ReferenceIdInUse' });
      }
    }
    expect(ok.length).toBeGreaterThanOrEqual(1);
    const back = await fx.readBack(ok[0]!.destination.bucket, ok[0]!.destination.objectKey);
    expect(back.md5).toBe(md5(file.data));
    const media = (await fx.emu.admin.listMedia()).filter((m) => m.title === title);
    expect(media.map((m) => m.status)).toEqual(['UploadSucc']);
  });

  it('a run slower than the preparing lease leaves one video media: the new owner’s', async () => {
    const file = await fx.writeFile(MiB);
    const title = `slow-create ${Date.now()}`;
    await fx.emu.admin.delayResponses({ ms: 400, service: 'vod', operation: 'CreateUploadVideo', count: 1 });
    // Its outcome is taken at once: it may fail before the new owner is done (an unhandled rejection).
    const slow = fx
      .engine({ prepareLeaseMs: 100 })
      .run({
        uploadKey: 'job-slow-create',
        source: fx.fileSource(file.path),
        target: fx.vodTarget({ type: 'video', title }),
      })
      .catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 200)); // the lease has expired: the job is re-dispatched
    const result = await fx.engine({ prepareLeaseMs: 100 }).run({
      uploadKey: 'job-slow-create',
      source: fx.fileSource(file.path),
      target: fx.vodTarget({ type: 'video', title }),
    });
    // The slow Create… lands on the ReferenceId the new owner holds: refused, and the slow run finds a
    // media it must not take over (already uploaded) or, had it been quicker, loses the checkpoint.
    const err = await slow;
    if (!(err instanceof OwnershipLostError)) expect(err).toMatchObject({ vodCode: 'ReferenceIdInUse' });
    const media = (await fx.emu.admin.listMedia()).filter((m) => m.title === title);
    expect(media.map((m) => [m.id, m.status])).toEqual([[result.destination.mediaId, 'UploadSucc']]);
  });

  it('a run whose media creation failed does not hold the next run off', async () => {
    const file = await fx.writeFile(MiB);
    const title = `create-fails ${Date.now()}`;
    await fx.emu.admin.failVodCalls({ action: 'CreateUploadVideo', count: 6, status: 503 });
    const run = () =>
      fx.engine({ prepareLeaseMs: 60_000 }).run({
        uploadKey: 'job-create-fails',
        source: fx.fileSource(file.path),
        target: fx.vodTarget({ type: 'video', title }),
      });
    await expect(run()).rejects.toBeInstanceOf(VodError);
    // The retry (BullMQ's next attempt) goes ahead at once instead of waiting out the 60 s lease.
    const result = await run();
    expect((await fx.readBack(result.destination.bucket, result.destination.objectKey)).md5).toBe(
      md5(file.data),
    );
  });

  // Review F4: the first CreateUploadVideo lands after the client gave up (read timeout) and the
  // engine retried. The media carries a ReferenceId derived from the upload key: the retry looks it up
  // before creating, and whichever Create… lands second is refused as a duplicate.
  it('a lost CreateUploadVideo answer never leads to a second media', async () => {
    const file = await fx.writeFile(MiB);
    const title = `create-retry ${Date.now()}`;
    const vod = new VodClient({
      endpoint: fx.emu.vodEndpoint,
      regionId: fx.emu.region,
      accessKeyId: fx.emu.accessKeyId,
      accessKeySecret: fx.emu.accessKeySecret,
      readTimeoutMs: 300,
    });
    await fx.emu.admin.delayResponses({ ms: 800, service: 'vod', operation: 'CreateUploadVideo', count: 1 });
    const target = new VodStorageTarget({ vod, media: { type: 'video', title } });
    const result = await fx.engine().run({
      uploadKey: 'job-create-retry',
      source: fx.fileSource(file.path),
      target,
    });
    await new Promise((r) => setTimeout(r, 1000)); // let the slow first call land (no event to wait on)
    const media = (await fx.emu.admin.listMedia()).filter((m) => m.title === title);
    expect(media.map((m) => [m.id, m.status])).toEqual([[result.destination.mediaId, 'UploadSucc']]);
    const creates = (await fx.emu.admin.requests()).filter((r) => r.operation === 'CreateUploadVideo');
    expect(creates.length).toBeGreaterThanOrEqual(2); // the retry really happened
  });

  it('a run that died after its CreateUploadVideo reached VOD: the next run reattaches to that media', async () => {
    const file = await fx.writeFile(MiB);
    const title = `create-crash ${Date.now()}`;
    // The first run stops (a shutdown) while its Create… is on the way; VOD creates the media later.
    await fx.emu.admin.delayResponses({ ms: 300, service: 'vod', operation: 'CreateUploadVideo', count: 1 });
    const stop = new AbortController();
    const first = fx.engine().run({
      uploadKey: 'job-create-crash',
      source: fx.fileSource(file.path),
      target: fx.vodTarget({ type: 'video', title }),
      signal: stop.signal,
    });
    setTimeout(() => stop.abort(), 100);
    await expect(first).rejects.toBeInstanceOf(AbortError);
    const created = async () => (await fx.emu.admin.listMedia()).filter((m) => m.title === title);
    while ((await created()).length === 0) await new Promise((r) => setTimeout(r, 20));
    const result = await fx.engine().run({
      uploadKey: 'job-create-crash',
      source: fx.fileSource(file.path),
      target: fx.vodTarget({ type: 'video', title }),
    });
    const media = (await fx.emu.admin.listMedia()).filter((m) => m.title === title);
    expect(media.map((m) => [m.id, m.status])).toEqual([[result.destination.mediaId, 'UploadSucc']]);
  });
});
