import { randomBytes } from 'node:crypto';
import { type ClientUploadView, signTicket, vodCallbackSignature } from '@mediaferry/client-uploads';
import { describe, expect, it } from 'vitest';
import {
  bearer,
  CALLBACK_KEYS,
  ossFor,
  PREFIX,
  TICKET_SECRET,
  useClientUploadSystem,
} from './test-support/client-upload-fixture.js';

const sys = useClientUploadSystem();

async function waitFor<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function create(body: Record<string, unknown>, who: 'a' | 'b' = 'a', app = 0) {
  return sys.apps[app]!.inject({
    method: 'POST',
    url: '/v1/client-uploads',
    headers: bearer(who),
    payload: body,
  });
}

async function get(id: string, who: 'a' | 'b' = 'a') {
  return sys.apps[0]!.inject({ method: 'GET', url: `/v1/client-uploads/${id}`, headers: bearer(who) });
}

const waitStatus = (id: string, status: string) =>
  waitFor(async () => {
    const view = (await get(id)).json() as ClientUploadView;
    return view.status === status ? view : undefined;
  }, `${id} ${status}`);

const video = (extra: Record<string, unknown> = {}) => ({
  media: { type: 'video' as const, title: 'Clip' },
  fileName: 'clip.mp4',
  fileSize: 300 * 1024,
  ...extra,
});

async function signedEvent(body: Record<string, unknown>, o: { ts?: number; key?: string } = {}) {
  const ts = String(o.ts ?? Math.floor(Date.now() / 1000));
  return sys.apps[0]!.inject({
    method: 'POST',
    url: '/v1/vod/events',
    headers: {
      'x-vod-timestamp': ts,
      'x-vod-signature': vodCallbackSignature(sys.callbackUrl, ts, o.key ?? CALLBACK_KEYS[0]),
    },
    payload: body,
  });
}

describe('client uploads', () => {
  it('video: create → ali-oss with only the handed-out credentials → VOD event → completed → webhook', async () => {
    const res = await create(video({ endUserId: 'user-1', callbackUrl: 'https://hooks.example/cu' }));
    expect(res.statusCode).toBe(201);
    const view = res.json() as ClientUploadView;
    expect(view).toMatchObject({
      status: 'issued',
      mediaType: 'video',
      endUserId: 'user-1',
      service: 'svc-a',
    });
    expect(view.id).toMatch(/^cu_/);
    const address = JSON.parse(Buffer.from(view.uploadAddress!, 'base64').toString()) as Record<
      string,
      string
    >;
    expect(address.FileName).toBe(view.oss!.objectKey);
    const data = randomBytes(view.fileSize);
    await ossFor(view).multipartUpload(view.oss!.objectKey, data, { partSize: 100 * 1024 });
    const done = await waitStatus(view.id, 'completed');
    expect(done.result).toMatchObject({ mediaId: view.mediaId, size: data.length, sizeVerified: true });
    expect(done.uploadAuth).toBeNull();
    expect(done.oss).toBeNull();
    const deliveries = await waitFor(async () => {
      const jobs = await sys.webhooks.queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed']);
      const mine = jobs.filter((j) => j.data.jobId === view.id);
      return mine.length > 0 ? mine : undefined;
    }, 'webhook');
    expect(deliveries[0]!.data.event).toBe('client_upload.completed');
    expect(JSON.parse(deliveries[0]!.data.body).clientUpload.status).toBe('completed');
    // No secret in the record or any log line.
    const secrets = [
      view.uploadAuth!,
      view.oss!.accessKeySecret,
      view.oss!.securityToken,
      TICKET_SECRET,
      ...CALLBACK_KEYS,
    ];
    const stored = JSON.stringify(await sys.redis.hgetall(sys.store.keys.record('svc-a', view.id)));
    for (const s of secrets) {
      expect(stored).not.toContain(s);
      expect(sys.logs.join('')).not.toContain(s);
    }
  });

  it('image and subtitle complete the same way', async () => {
    for (const body of [
      { media: { type: 'image', title: 'Cover' }, fileName: 'cover.png', fileSize: 2048 },
      { media: { type: 'attached', businessType: 'subtitle' }, fileName: 'subs.vtt', fileSize: 512 },
    ]) {
      const view = (await create(body)).json() as ClientUploadView;
      expect(view.status).toBe('issued');
      await ossFor(view).put(view.oss!.objectKey, randomBytes(body.fileSize));
      const done = await waitStatus(view.id, 'completed');
      expect(done.result?.size).toBe(body.fileSize);
    }
  });

  it('credentials expire mid-upload → refresh → the same upload finishes with the same media', async () => {
    const view = (await create(video())).json() as ClientUploadView;
    const key = view.oss!.objectKey;
    const data = randomBytes(view.fileSize);
    const first = ossFor(view);
    const { uploadId } = await first.initMultipartUpload(key);
    const p1 = await first.uploadPart(key, uploadId, 1, data.subarray(0, 200 * 1024), 0, 200 * 1024);
    await sys.emulator.admin.expireCredentials();
    await expect(
      first.uploadPart(key, uploadId, 2, data.subarray(200 * 1024), 0, 100 * 1024),
    ).rejects.toMatchObject({
      code: 'SecurityTokenExpired',
    });
    const refreshed = await sys.apps[1]!.inject({
      method: 'POST',
      url: `/v1/client-uploads/${view.id}/refresh`,
      headers: bearer(),
    });
    expect(refreshed.statusCode).toBe(200);
    const again = refreshed.json() as ClientUploadView;
    expect(again.mediaId).toBe(view.mediaId);
    expect(again.refreshes).toBe(1);
    expect(again.oss!.accessKeyId).not.toBe(view.oss!.accessKeyId);
    const second = ossFor(again);
    const p2 = await second.uploadPart(key, uploadId, 2, data.subarray(200 * 1024), 0, 100 * 1024);
    await second.completeMultipartUpload(key, uploadId, [
      { number: 1, etag: p1.etag },
      { number: 2, etag: p2.etag },
    ]);
    expect((await waitStatus(view.id, 'completed')).result?.mediaId).toBe(view.mediaId);
    // Another service cannot refresh, see or cancel it.
    expect(
      (
        await sys.apps[0]!.inject({
          method: 'POST',
          url: `/v1/client-uploads/${view.id}/refresh`,
          headers: bearer('b'),
        })
      ).statusCode,
    ).toBe(404);
    expect((await get(view.id, 'b')).statusCode).toBe(404);
  });

  it('image refresh: a new media replaces the unused one under the same upload', async () => {
    const body = { media: { type: 'image', title: 'Pic' }, fileName: 'pic.png', fileSize: 1500 };
    const view = (await create(body)).json() as ClientUploadView;
    const refreshed = await sys.apps[1]!.inject({
      method: 'POST',
      url: `/v1/client-uploads/${view.id}/refresh`,
      headers: bearer(),
    });
    expect(refreshed.statusCode).toBe(200);
    const again = refreshed.json() as ClientUploadView;
    expect(again.id).toBe(view.id);
    expect(again.mediaId).not.toBe(view.mediaId);
    expect((await sys.vod.lookup('image', view.mediaId!)).exists).toBe(false);
    // STS cannot revoke a token, so the old credentials outlive their media (as in the cloud), but a
    // write with them lands on no media: nothing completes, the old media stays gone.
    await ossFor(view).put(view.oss!.objectKey, randomBytes(1500));
    expect((await sys.vod.lookup('image', view.mediaId!)).exists).toBe(false);
    expect(
      (await sys.apps[0]!.inject({ url: `/v1/client-uploads/${view.id}`, headers: bearer() })).json(),
    ).toMatchObject({ status: 'issued', mediaId: again.mediaId });
    await ossFor(again).put(again.oss!.objectKey, randomBytes(1500));
    const done = await waitStatus(view.id, 'completed');
    expect(done.result?.mediaId).toBe(again.mediaId);
    // Finished: no more credentials.
    const late = await sys.apps[0]!.inject({
      method: 'POST',
      url: `/v1/client-uploads/${view.id}/refresh`,
      headers: bearer(),
    });
    expect([late.statusCode, late.json().error.code]).toEqual([409, 'CONFLICT']);
  });

  it('a client that uploads more than it declared → rejected, media deleted, webhook', async () => {
    const view = (
      await create(video({ fileSize: 1000, callbackUrl: 'https://hooks.example/cu' }))
    ).json() as ClientUploadView;
    await ossFor(view).put(view.oss!.objectKey, randomBytes(5000));
    const rejected = await waitStatus(view.id, 'rejected');
    expect(rejected.error?.code).toBe('SIZE_EXCEEDED');
    expect((await sys.vod.lookup('video', view.mediaId!)).exists).toBe(false);
    const jobs = await sys.webhooks.queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed']);
    expect(jobs.find((j) => j.data.jobId === view.id)?.data.event).toBe('client_upload.rejected');
  });

  it('events: bad signature, stale, replay, unknown media and a forged body change nothing', async () => {
    const view = (await create(video())).json() as ClientUploadView;
    const forged = {
      EventType: 'FileUploadComplete',
      VideoId: view.mediaId,
      Status: 'success',
      Size: view.fileSize,
    };
    const bad = await signedEvent(forged, { key: 'not-the-key' });
    expect(bad.statusCode).toBe(401);
    expect(bad.json().error.code).toBe('BAD_SIGNATURE');
    const stale = await signedEvent(forged, { ts: Math.floor(Date.now() / 1000) - 3600 });
    expect(stale.json().error.code).toBe('STALE_TIMESTAMP');
    // Signed right (the old key works during rotation), but the media is still empty in VOD.
    const ts = Math.floor(Date.now() / 1000);
    const accepted = await signedEvent(forged, { ts, key: CALLBACK_KEYS[1] });
    expect(accepted.json()).toEqual({ result: 'accepted' });
    expect((await signedEvent(forged, { ts, key: CALLBACK_KEYS[1] })).json()).toEqual({ result: 'replay' });
    expect((await signedEvent({ ...forged, VideoId: 'f'.repeat(32) })).json()).toEqual({
      result: 'unknown_media',
    });
    // Whatever Content-Type VOD sends, the body is read as JSON; a body that is not JSON is a 400.
    const textTs = String(Math.floor(Date.now() / 1000) + 1);
    const sig = vodCallbackSignature(sys.callbackUrl, textTs, CALLBACK_KEYS[0]);
    const asText = await sys.apps[0]!.inject({
      method: 'POST',
      url: '/v1/vod/events',
      headers: { 'x-vod-timestamp': textTs, 'x-vod-signature': sig, 'content-type': 'text/plain' },
      payload: JSON.stringify({ ...forged, VideoId: 'e'.repeat(32) }),
    });
    expect(asText.json()).toEqual({ result: 'unknown_media' });
    const notJson = await sys.apps[0]!.inject({
      method: 'POST',
      url: '/v1/vod/events',
      headers: { 'x-vod-timestamp': textTs, 'x-vod-signature': sig, 'content-type': 'text/plain' },
      payload: 'not json',
    });
    expect([notJson.statusCode, notJson.json().error.code]).toEqual([400, 'INVALID_JSON']);
    expect(((await get(view.id)).json() as ClientUploadView).status).toBe('issued');
  });

  it('the reconciler completes uploads whose event never came, and expires abandoned ones', async () => {
    const quiet = sys.quietService();
    const { view } = await quiet.create('svc-a', video());
    const { view: abandoned } = await quiet.create('svc-a', video());
    await ossFor(view).put(view.oss!.objectKey, randomBytes(view.fileSize));
    const { ClientUploadReconciler } = await import('@mediaferry/client-uploads');
    const logger = { info() {}, warn() {}, error() {} };
    const report = await new ClientUploadReconciler(quiet, {
      services: () => ['svc-a'],
      logger,
      intervalMs: 1000,
    }).runOnce();
    expect(report?.completed).toBeGreaterThanOrEqual(1);
    expect(((await get(view.id)).json() as ClientUploadView).status).toBe('completed');
    // Two days later the abandoned one is past its deadline.
    const later = sys.quietService(2 * 86400_000);
    await sys.redis.del(sys.store.keys.reconcilerLock());
    await new ClientUploadReconciler(later, {
      services: () => ['svc-a'],
      logger,
      intervalMs: 1000,
    }).runOnce();
    const expired = (await get(abandoned.id)).json() as ClientUploadView;
    expect(expired.status).toBe('expired');
    expect((await sys.vod.lookup('video', abandoned.mediaId!)).exists).toBe(false);
  });

  it('tickets: redeemed once across two API replicas; replay 409, tampered and expired 401', async () => {
    const issued = await sys.apps[0]!.inject({
      method: 'POST',
      url: '/v1/client-uploads/tickets',
      headers: bearer(),
      payload: { endUserId: 'ticket-user', constraints: { maxBytes: 1_000_000 } },
    });
    expect(issued.statusCode).toBe(201);
    const { ticket } = issued.json() as { ticket: string };
    const redeem = (app: number, t = ticket, body: Record<string, unknown> = video()) =>
      sys.apps[app]!.inject({
        method: 'POST',
        url: '/v1/client-uploads/redeem',
        headers: { authorization: `Ticket ${t}` },
        payload: body,
      });
    const results = await Promise.all([redeem(0), redeem(1), redeem(0), redeem(1)]);
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes).toEqual([201, 409, 409, 409]);
    const won = results.find((r) => r.statusCode === 201)!.json() as ClientUploadView;
    expect(won).toMatchObject({ service: 'svc-a', endUserId: 'ticket-user' });
    const tampered = `${ticket.slice(0, -2)}${ticket.endsWith('A') ? 'B' : 'A'}A`;
    expect((await redeem(0, tampered)).statusCode).toBe(401);
    const past = signTicket(TICKET_SECRET, {
      service: 'svc-a',
      endUserId: null,
      constraints: null,
      issuedAt: 0,
      expiresAt: Date.now() - 1000,
    });
    const expired = await redeem(1, past.ticket);
    expect(expired.statusCode).toBe(401);
    expect(expired.json().error.code).toBe('TICKET_EXPIRED');
    // A ticket's constraint narrows the policy before it is spent.
    const small = signTicket(TICKET_SECRET, {
      service: 'svc-a',
      endUserId: null,
      constraints: { maxBytes: 10 },
      issuedAt: Date.now(),
      expiresAt: Date.now() + 60_000,
    });
    expect((await redeem(0, small.ticket)).json().error.code).toBe('FILE_TOO_LARGE');
  });

  it('policy refusals come before any VOD call; 20 concurrent identical creates make one media', async () => {
    await sys.emulator.admin.clearRequests();
    const refusals = [
      [video({ fileSize: 5 * 1024 * 1024 }), 400, 'FILE_TOO_LARGE'],
      [{ ...video(), media: { type: 'audio', title: 'x' } }, 403, 'MEDIA_TYPE_NOT_ALLOWED'],
      [video({ fileName: 'clip.mov' }), 403, 'EXTENSION_NOT_ALLOWED'],
    ] as const;
    for (const [body, status, code] of refusals) {
      const res = await create(body as Record<string, unknown>);
      expect([res.statusCode, res.json().error.code]).toEqual([status, code]);
    }
    for (let i = 0; i < 3; i++)
      expect((await create(video({ endUserId: 'quota-user' }))).statusCode).toBe(201);
    const over = await create(video({ endUserId: 'quota-user' }));
    expect([over.statusCode, over.json().error.code]).toEqual([429, 'QUOTA_EXCEEDED']);
    const creates = (await sys.emulator.admin.requests({ operation: 'CreateUploadVideo' })).length;
    expect(creates).toBe(3);

    await sys.emulator.admin.clearRequests();
    const body = video({ idempotencyKey: `idem-${randomBytes(4).toString('hex')}` });
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => create(body, 'a', i % 2)));
    const views = answers.map((r) => r.json() as ClientUploadView);
    expect(new Set(views.map((v) => v.id)).size).toBe(1);
    expect(new Set(views.map((v) => v.mediaId)).size).toBe(1);
    expect(answers.filter((r) => r.statusCode === 201)).toHaveLength(1);
    expect(answers.every((r) => r.statusCode === 201 || r.statusCode === 200)).toBe(true);
    expect((await sys.emulator.admin.requests({ operation: 'CreateUploadVideo' })).length).toBe(1);
    expect(views.every((v) => v.uploadAuth !== null)).toBe(true);
    const conflict = await create({ ...body, fileSize: 1234 });
    expect(conflict.statusCode).toBe(409);
  });

  it('a failed VOD create leaves nothing: the same idempotency key then creates the upload', async () => {
    const body = video({ idempotencyKey: `fail-${randomBytes(4).toString('hex')}`, endUserId: 'vod-fails' });
    await sys.emulator.admin.failVodCalls({ action: 'CreateUploadVideo', count: 1 });
    const failed = await create(body);
    expect([failed.statusCode, failed.json().error.code]).toEqual([503, 'UNAVAILABLE']);
    const list = await sys.apps[0]!.inject({
      method: 'GET',
      url: '/v1/client-uploads?endUserId=vod-fails',
      headers: bearer(),
    });
    expect(list.json().clientUploads).toEqual([]);
    const again = await create(body);
    expect(again.statusCode).toBe(201);
    expect((again.json() as ClientUploadView).mediaId).toEqual(expect.any(String));
  });

  it('duplicates waiting on a create whose VOD call fails start afresh: still one media', async () => {
    const body = video({ idempotencyKey: `dup-fail-${randomBytes(4).toString('hex')}` });
    await sys.emulator.admin.clearRequests();
    await sys.emulator.admin.delayResponses({ ms: 400, operation: 'CreateUploadVideo', count: 1 });
    await sys.emulator.admin.failVodCalls({ action: 'CreateUploadVideo', count: 1 });
    const first = create(body);
    await new Promise((r) => setTimeout(r, 100));
    const answers = await Promise.all([
      first,
      ...Array.from({ length: 4 }, (_, i) => create(body, 'a', i % 2)),
    ]);
    const codes = answers.map((r) => r.statusCode).sort();
    expect(codes).toEqual([200, 200, 200, 201, 503]);
    const views = answers.filter((r) => r.statusCode !== 503).map((r) => r.json() as ClientUploadView);
    expect(new Set(views.map((v) => v.id)).size).toBe(1);
    expect(new Set(views.map((v) => v.mediaId)).size).toBe(1);
    expect((await sys.emulator.admin.requests({ operation: 'CreateUploadVideo' })).length).toBe(2);
  });

  it('lists by status and end user, and cancel deletes the media', async () => {
    const view = (await create(video({ endUserId: 'lister' }))).json() as ClientUploadView;
    const list = await sys.apps[0]!.inject({
      method: 'GET',
      url: '/v1/client-uploads?endUserId=lister&status=issued',
      headers: bearer(),
    });
    expect((list.json() as { clientUploads: ClientUploadView[] }).clientUploads.map((c) => c.id)).toEqual([
      view.id,
    ]);
    expect(
      (
        await sys.apps[0]!.inject({
          method: 'GET',
          url: '/v1/client-uploads?endUserId=lister',
          headers: bearer('b'),
        })
      ).json().clientUploads,
    ).toEqual([]);
    const canceled = await sys.apps[0]!.inject({
      method: 'DELETE',
      url: `/v1/client-uploads/${view.id}`,
      headers: bearer(),
    });
    expect((canceled.json() as ClientUploadView).status).toBe('canceled');
    expect((await sys.vod.lookup('video', view.mediaId!)).exists).toBe(false);
    expect(
      (
        await sys.apps[0]!.inject({
          method: 'DELETE',
          url: `/v1/client-uploads/${view.id}`,
          headers: bearer(),
        })
      ).statusCode,
    ).toBe(409);
    expect(PREFIX).toBe('mfcu');
  });
});
