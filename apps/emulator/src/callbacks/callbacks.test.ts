import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../emulator.js';
import { callVod, decodeUpload, ossForUpload, testData, vodClient } from '../test-support/clients.js';
import { vodCallbackSignature } from './callback-sender.js';

interface Delivery {
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/** A local HTTP endpoint that records deliveries; answers with the next queued status (200 when empty). */
async function callbackServer(statuses: number[] = []) {
  const deliveries: Delivery[] = [];
  const waiters: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      deliveries.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString()) });
      res.writeHead(statuses.shift() ?? 200);
      res.end();
      for (const w of waiters.splice(0)) w();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/vod-events`;
  return {
    url,
    deliveries,
    /** Resolves once `n` deliveries arrived. */
    async waitFor(n: number): Promise<Delivery[]> {
      while (deliveries.length < n) await new Promise<void>((r) => waiters.push(r));
      return deliveries;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function userData(url: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ MessageCallback: { CallbackURL: url, CallbackType: 'http' }, ...extra });
}

describe('VOD upload-complete callbacks', () => {
  let emu: Emulator;
  let hooks: Awaited<ReturnType<typeof callbackServer>>;
  afterEach(async () => {
    await emu?.close();
    await hooks?.close();
  });

  beforeEach(async () => {
    emu = await startEmulator({ ossSignatures: 'v4-only', callbackPrivateKey: 'test-callback-key' });
  });

  it('POSTs FileUploadComplete with a valid X-VOD-SIGNATURE when a video completes', async () => {
    hooks = await callbackServer();
    const body = await callVod(vodClient(emu), 'CreateUploadVideo', {
      Title: 'cb',
      FileName: 'cb.mp4',
      UserData: userData(hooks.url, { Extend: { job: 'job_1' } }),
    });
    const t = decodeUpload(body);
    const data = testData(300 * 1024);
    await ossForUpload(t).multipartUpload(t.key, data, { partSize: 100 * 1024 });
    const [d] = await hooks.waitFor(1);
    const ts = String(d!.headers['x-vod-timestamp']);
    expect(ts).toMatch(/^\d{10}$/);
    expect(d!.headers['x-vod-signature']).toBe(vodCallbackSignature(hooks.url, ts, 'test-callback-key'));
    expect(d!.body).toMatchObject({
      EventType: 'FileUploadComplete',
      VideoId: t.mediaId,
      Status: 'success',
      Size: data.length,
      Extend: '{"job":"job_1"}',
    });
    expect(d!.body.EventTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('POSTs ImageUploadComplete for images, and retries a refused delivery', async () => {
    hooks = await callbackServer([500]);
    const body = await callVod(vodClient(emu), 'CreateUploadImage', {
      ImageType: 'default',
      UserData: userData(hooks.url),
    });
    const t = decodeUpload(body);
    await ossForUpload(t).put(t.key, testData(1000));
    const [first, second] = await hooks.waitFor(2);
    expect(first!.body).toMatchObject({
      EventType: 'ImageUploadComplete',
      ImageId: t.mediaId,
      Status: 'success',
    });
    expect(second!.body).toEqual(first!.body);
  });

  it('sends nothing when UserData asks for no callback', async () => {
    hooks = await callbackServer();
    const body = await callVod(vodClient(emu), 'CreateUploadVideo', { Title: 'q', FileName: 'q.mp4' });
    const t = decodeUpload(body);
    await ossForUpload(t).put(t.key, testData(10));
    // A media with a callback, completed afterwards, is delivered alone: the first had none queued.
    const withHook = decodeUpload(
      await callVod(vodClient(emu), 'CreateUploadVideo', {
        Title: 'w',
        FileName: 'w.mp4',
        UserData: userData(hooks.url),
      }),
    );
    await ossForUpload(withHook).put(withHook.key, testData(10));
    const deliveries = await hooks.waitFor(1);
    expect(deliveries.map((d) => d.body.VideoId)).toEqual([withHook.mediaId]);
  });
});
