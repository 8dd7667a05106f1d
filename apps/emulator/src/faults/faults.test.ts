import type OSS from 'ali-oss';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Emulator, startEmulator } from '../emulator.js';
import {
  callVod,
  createVideo,
  listParts,
  ossForAccount,
  ossForUpload,
  rejectionOf,
  testData,
  uploadPartBuffer,
  vodClient,
} from '../test-support/clients.js';

const KiB = 1024;

let emu: Emulator;
let oss: OSS;
beforeAll(async () => {
  emu = await startEmulator({ ossSignatures: 'v4-only' });
  oss = ossForAccount(emu, 'mediaferry-local');
});
afterEach(async () => {
  await emu.admin.resetFaults();
  await emu.admin.clearRequests();
});
afterAll(async () => {
  await emu?.close();
});

describe('fault injection observed by the real clients', () => {
  it('fails the next N UploadPart requests with the chosen status and code, optionally per key', async () => {
    const { uploadId } = await oss.initMultipartUpload('faults/a.bin');
    const other = await oss.initMultipartUpload('faults/b.bin');
    await emu.admin.failUploadParts({
      count: 2,
      status: 503,
      code: 'ServiceUnavailable',
      key: 'faults/a.bin',
    });
    await uploadPartBuffer(oss, 'faults/b.bin', other.uploadId, 1, testData(10)); // other key: untouched
    for (let i = 0; i < 2; i++) {
      const err = await rejectionOf(() =>
        uploadPartBuffer(oss, 'faults/a.bin', uploadId, 1, testData(100 * KiB)),
      );
      expect(err).toMatchObject({ status: 503, code: 'ServiceUnavailable' });
    }
    await uploadPartBuffer(oss, 'faults/a.bin', uploadId, 1, testData(100 * KiB));
    const log = await emu.admin.requests({ operation: 'UploadPart' });
    expect(log.map((e) => [e.key, e.status, e.errorCode ?? null])).toEqual([
      ['faults/b.bin', 200, null],
      ['faults/a.bin', 503, 'ServiceUnavailable'],
      ['faults/a.bin', 503, 'ServiceUnavailable'],
      ['faults/a.bin', 200, null],
    ]);
  });

  it('a failed multipartUpload resumes from its checkpoint; the log shows the exact sequence', async () => {
    const t = await createVideo(emu);
    const up = ossForUpload(t);
    const data = testData(500 * KiB, 5);
    await emu.admin.clearRequests();
    await emu.admin.failUploadParts({ count: 1, status: 500, code: 'InternalError' });
    // biome-ignore lint/suspicious/noExplicitAny: ali-oss checkpoint object
    let checkpoint: any;
    const opts = {
      partSize: 100 * KiB,
      parallel: 1,
      progress: async (_: number, cpt: unknown) => {
        checkpoint = cpt;
      },
    };
    const err = await rejectionOf(() => up.multipartUpload(t.key, data, opts));
    expect(err).toMatchObject({ status: 500, code: 'InternalError' });
    await up.multipartUpload(t.key, data, { ...opts, checkpoint });
    const log = await emu.admin.requests();
    expect(log.map((e) => `${e.operation}:${e.partNumber ?? ''}:${e.status}`)).toEqual([
      'InitiateMultipartUpload::200',
      'UploadPart:1:500', // parallel 1: the first failure ends the call
      ...[1, 2, 3, 4, 5].map((n) => `UploadPart:${n}:200`),
      'CompleteMultipartUpload::200',
    ]);
    expect(log.every((e) => e.accessKeyId === t.accessKeyId)).toBe(true);
    expect((await up.get(t.key)).content.equals(data)).toBe(true);
  });

  it('resets the connection of the next UploadPart', async () => {
    const { uploadId } = await oss.initMultipartUpload('faults/reset.bin');
    await emu.admin.resetUploadParts({ count: 1 });
    const err = await rejectionOf(() =>
      uploadPartBuffer(oss, 'faults/reset.bin', uploadId, 1, testData(100 * KiB)),
    );
    // ali-oss (urllib) reports network failures as status -1, the cause in the message.
    expect(err.status).toBe(-1);
    expect(String(err.message)).toMatch(/ECONNRESET|EPIPE|socket hang up/i);
    await uploadPartBuffer(oss, 'faults/reset.bin', uploadId, 1, testData(100 * KiB));
    const [reset, ok] = await emu.admin.requests({ operation: 'UploadPart' });
    expect(reset).toMatchObject({ status: 0, errorCode: 'ConnectionReset', bytes: 0 });
    expect(ok).toMatchObject({ status: 200, bytes: 100 * KiB });
  });

  it('cuts a part body midway: no part is stored, the log shows the bytes read', async () => {
    const { uploadId } = await oss.initMultipartUpload('faults/cut.bin');
    await emu.admin.cutUploadParts({ afterBytes: 40_000 });
    const err = await rejectionOf(() =>
      uploadPartBuffer(oss, 'faults/cut.bin', uploadId, 1, testData(300 * KiB)),
    );
    expect(err.status).toBe(-1); // a network error, not an HTTP answer
    const [cut] = await emu.admin.requests({ operation: 'UploadPart' });
    expect(cut).toMatchObject({ status: 0, errorCode: 'ConnectionCut', bytes: 40_000 });
    const listed = await listParts(oss, 'faults/cut.bin', uploadId);
    expect(listed.parts ?? []).toEqual([]);
  });

  it('delays responses of one operation', async () => {
    await oss.put('faults/delay.txt', Buffer.from('x'));
    await emu.admin.delayResponses({ ms: 400, operation: 'HeadObject', count: 1 });
    const started = performance.now();
    await oss.head('faults/delay.txt');
    expect(performance.now() - started).toBeGreaterThanOrEqual(390);
    await oss.get('faults/delay.txt');
    // The log records a request when its response closes, which can come after the client has it.
    const [head, get] = await vi.waitFor(async () => {
      const entries = (await emu.admin.requests({ since: 0 })).filter((e) => e.key === 'faults/delay.txt');
      expect(entries).toHaveLength(3);
      return entries.slice(1);
    });
    expect(head!.operation).toBe('HeadObject');
    expect(head!.durationMs).toBeGreaterThanOrEqual(390);
    expect(get!.operation).toBe('GetObject');
    expect((await emu.admin.faults()).rules).toEqual([]);
  });

  it('throttles request bodies and GET responses to the configured rate', async () => {
    const rate = 200 * KiB;
    await emu.admin.throttle(rate);
    expect((await emu.admin.faults()).throttle).toEqual({ bytesPerSecond: rate });
    const body = testData(300 * KiB);
    let started = performance.now();
    await oss.put('faults/throttle.bin', body);
    // 300 KiB at 200 KiB/s is 1.5 s; allow generous slack below, none needed above.
    expect(performance.now() - started).toBeGreaterThanOrEqual(1200);
    started = performance.now();
    const got = await oss.get('faults/throttle.bin');
    expect(performance.now() - started).toBeGreaterThanOrEqual(1200);
    expect(got.content.equals(body)).toBe(true);
    await emu.admin.throttle(null);
    expect((await emu.admin.faults()).throttle).toBeNull();
  });

  it('fails the next N VOD calls (Throttling.User 400, ServiceUnavailable 503)', async () => {
    const client = vodClient(emu);
    await emu.admin.failVodCalls({
      count: 1,
      status: 400,
      code: 'Throttling.User',
      action: 'CreateUploadVideo',
    });
    const throttled = await rejectionOf(() =>
      callVod(client, 'CreateUploadVideo', { Title: 't', FileName: 'a.mp4' }),
    );
    expect(throttled).toMatchObject({ name: 'ThrottlingError', code: 'Throttling.User', statusCode: 400 });
    await emu.admin.failVodCalls({ count: 1, status: 503, code: 'ServiceUnavailable' });
    const unavailable = await rejectionOf(() =>
      callVod(client, 'CreateUploadVideo', { Title: 't', FileName: 'a.mp4' }),
    );
    expect(unavailable).toMatchObject({ name: 'ServerError', code: 'ServiceUnavailable', statusCode: 503 });
    const ok = await callVod(client, 'CreateUploadVideo', { Title: 't', FileName: 'a.mp4' });
    expect(ok.VideoId).toBeDefined();
    const log = await emu.admin.requests();
    expect(log.map((e) => [e.operation, e.status, e.errorCode ?? null])).toEqual([
      ['CreateUploadVideo', 400, 'Throttling.User'],
      ['CreateUploadVideo', 503, 'ServiceUnavailable'],
      ['CreateUploadVideo', 200, null],
    ]);
    expect(log[2]!.mediaId).toBe(ok.VideoId);
  });

  it('unlimited rules last until reset; rejected requests never use one up', async () => {
    const rule = await emu.admin.delayResponses({ ms: 1 });
    expect(rule.remaining).toBeNull();
    await emu.admin.failUploadParts({ count: 1 });
    const { uploadId } = await oss.initMultipartUpload('faults/auth.bin');
    const badSecret = ossForAccount(emu, 'mediaferry-local', { accessKeySecret: 'wrong' });
    const refused = await rejectionOf(() =>
      uploadPartBuffer(badSecret, 'faults/auth.bin', uploadId, 1, testData(10)),
    );
    expect(refused.code).toBe('SignatureDoesNotMatch');
    const faults = await emu.admin.faults();
    expect(faults.rules.map((r) => [r.action.kind, r.remaining])).toEqual([
      ['delay', null],
      ['fail', 1],
    ]);
    await emu.admin.resetFaults();
    expect((await emu.admin.faults()).rules).toEqual([]);
  });
});

describe('admin API access', () => {
  it('requires the bearer token; OSS credentials do not work there', async () => {
    expect((await fetch(`${emu.url}/__emulator/faults`)).status).toBe(401);
    const ossAuth = await fetch(`${emu.url}/__emulator/requests`, {
      headers: { Authorization: `OSS ${emu.accessKeyId}:c2lnbmF0dXJl` },
    });
    expect(ossAuth.status).toBe(401);
    const wrong = await fetch(`${emu.url}/__emulator/requests`, {
      headers: { Authorization: 'Bearer nope' },
    });
    expect(wrong.status).toBe(401);
    const bad = await fetch(`${emu.url}/__emulator/faults`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${emu.adminToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ action: { kind: 'explode' } }),
    });
    expect(bad.status).toBe(400);
    expect(await emu.admin.buckets()).toEqual([emu.vodBucket, 'mediaferry-local']);
  });
});
