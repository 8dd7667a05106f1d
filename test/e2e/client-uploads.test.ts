import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import OSS from 'ali-oss';
import { describe, expect, it } from 'vitest';
import { scanText } from './support/secret-scan.js';
import { useSystem } from './support/use-system.js';
import { pollUntil } from './support/waits.js';
import { verifySignature, WebhookReceiver } from './support/webhook-receiver.js';

const CALLBACK_KEY = `vod-cb-${randomBytes(12).toString('hex')}`;
const TICKET_SECRET = `ticket-${randomBytes(20).toString('hex')}`;

// biome-ignore lint/suspicious/noExplicitAny: API bodies are checked field by field
type Body = Record<string, any>;

const ENV = {
  // VOD (the emulator) posts its upload events to the API; both sign with the same key.
  MEDIAFERRY_VOD_CALLBACK_URL: '{API_URL}/v1/vod/events',
  EMULATOR_VOD_CALLBACK_URL: '{API_URL}/v1/vod/events',
  MEDIAFERRY_VOD_CALLBACK_KEYS: CALLBACK_KEY,
  EMULATOR_CALLBACK_PRIVATE_KEY: CALLBACK_KEY,
  MEDIAFERRY_CLIENT_UPLOAD_TICKET_SECRET: TICKET_SECRET,
  MEDIAFERRY_CLIENT_UPLOAD_POLICY: JSON.stringify({ '*': { maxBytes: 8 * 1024 * 1024 } }),
};

describe('mediaferry client-upload (the CLI as a real client)', () => {
  // Credentials that live 2 s and a throttled OSS: they expire in the middle of the upload.
  const system = useSystem({
    workers: 1,
    metrics: false,
    env: { ...ENV, EMULATOR_CREDENTIAL_TTL_SECONDS: '2' },
  });

  it('send: uploads with only the handed-out credentials, refreshes them when they expire, waits for completed', async () => {
    const file = path.join(system().mediaDir, 'client.mp4');
    await writeFile(file, randomBytes(800 * 1024));
    await system().admin.throttle(200 * 1024);
    try {
      const r = await system().cli(['client-upload', 'send', file, '--part-size', String(100 * 1024)]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('credentials refreshed');
      const settled = JSON.parse(r.stdout) as Body;
      expect(settled).toMatchObject({ status: 'completed', fileSize: 800 * 1024 });
      expect(settled.refreshes).toBeGreaterThanOrEqual(1);
      expect(settled.result.size).toBe(800 * 1024);
    } finally {
      await system().admin.throttle(null);
    }
  });

  it('create: prints the credentials block a client needs', async () => {
    const r = await system().cli([
      'client-upload',
      'create',
      'phone.mp4',
      '--size',
      '1234',
      '--end-user',
      'u9',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const view = JSON.parse(r.stdout) as Body;
    expect(view).toMatchObject({ status: 'issued', fileName: 'phone.mp4', fileSize: 1234, endUserId: 'u9' });
    expect(view.oss.securityToken).toEqual(expect.any(String));
    expect(JSON.parse(Buffer.from(view.uploadAddress, 'base64').toString()).FileName).toBe(
      view.oss.objectKey,
    );
  });
});

describe('client uploads, every app its own process', () => {
  const system = useSystem({ workers: 1, metrics: false, env: ENV });

  async function api(
    method: string,
    path: string,
    body?: unknown,
    auth?: string,
  ): Promise<{ status: number; body: Body }> {
    const s = system();
    const res = await fetch(s.apiUrl + path, {
      method,
      headers: {
        authorization: auth ?? `Bearer ${s.services['svc-a']!.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Body };
  }

  const oss = (v: Body) =>
    new OSS({
      endpoint: v.oss.endpoint,
      bucket: v.oss.bucket,
      region: v.oss.region,
      accessKeyId: v.oss.accessKeyId,
      accessKeySecret: v.oss.accessKeySecret,
      stsToken: v.oss.securityToken,
      // Signature V4, as OSS requires of buckets created since 2025-09-01; the region scopes it.
      authorizationV4: true,
    });

  const waitStatus = (id: string, status: string) =>
    pollUntil(
      `${id} ${status}`,
      async () => {
        const { body } = await api('GET', `/v1/client-uploads/${id}`);
        return body.status === status ? body : undefined;
      },
      { timeoutMs: 30_000 },
    );

  it('video, image and subtitle: create → ali-oss → VOD event → completed → signed webhook; oversize → rejected', async () => {
    const hooks = await WebhookReceiver.start();
    try {
      const cases = [
        {
          media: { type: 'video', title: 'e2e' },
          fileName: 'e2e.mp4',
          fileSize: 600 * 1024,
          send: 600 * 1024,
        },
        { media: { type: 'image' }, fileName: 'e2e.png', fileSize: 4096, send: 4096 },
        {
          media: { type: 'attached', businessType: 'subtitle' },
          fileName: 'e2e.vtt',
          fileSize: 300,
          send: 300,
        },
        { media: { type: 'video', title: 'too big' }, fileName: 'big.mp4', fileSize: 1000, send: 3000 },
      ];
      const views: Body[] = [];
      for (const c of cases) {
        const { status, body } = await api('POST', '/v1/client-uploads', {
          media: c.media,
          fileName: c.fileName,
          fileSize: c.fileSize,
          endUserId: 'e2e-user',
          callbackUrl: hooks.url('/cu'),
        });
        expect(status).toBe(201);
        const data = randomBytes(c.send);
        if (c.send > 200 * 1024)
          await oss(body).multipartUpload(body.oss.objectKey, data, { partSize: 200 * 1024 });
        else await oss(body).put(body.oss.objectKey, data);
        views.push(body);
      }
      for (const [i, v] of views.entries()) {
        const done = await waitStatus(v.id, i === 3 ? 'rejected' : 'completed');
        if (i < 3) expect(done.result.size).toBe(cases[i]!.send);
        else expect(done.error.code).toBe('SIZE_EXCEEDED');
      }
      await pollUntil('webhooks', () => (hooks.deliveries.length >= 4 ? true : undefined), {
        timeoutMs: 30_000,
      });
      const secret = system().services['svc-a']!.webhookSecret;
      for (const d of hooks.deliveries) expect(verifySignature(d, secret)).toBe(true);
      const events = hooks.deliveries
        .map((d) => `${(d.json as Body).clientUpload.id} ${(d.json as Body).event}`)
        .sort();
      expect(events).toEqual(
        views.map((v, i) => `${v.id} client_upload.${i === 3 ? 'rejected' : 'completed'}`).sort(),
      );
      // The rejected media is gone from VOD.
      expect((await system().admin.listMedia()).some((m) => m.id === views[3]!.mediaId)).toBe(false);
      // No credential, ticket secret or callback key in any log line of any process.
      const secrets = [
        ...views.flatMap((v) => [
          { name: 'UploadAuth', value: v.uploadAuth },
          { name: 'STS secret', value: v.oss.accessKeySecret },
          { name: 'STS token', value: v.oss.securityToken },
        ]),
        { name: 'ticket secret', value: TICKET_SECRET },
        { name: 'callback key', value: CALLBACK_KEY },
        ...system().knownSecrets(),
      ];
      const findings = system().logs.lines.flatMap((l) => scanText(l.text, l.process, secrets));
      expect(findings).toEqual([]);
    } finally {
      await hooks.close();
    }
  });

  it('a ticket is redeemed once; the replay creates nothing', async () => {
    const { body: t } = await api('POST', '/v1/client-uploads/tickets', { endUserId: 'ticket-user' });
    const spec = { media: { type: 'video', title: 't' }, fileName: 't.mp4', fileSize: 1000 };
    const first = await api('POST', '/v1/client-uploads/redeem', spec, `Ticket ${t.ticket}`);
    const again = await api('POST', '/v1/client-uploads/redeem', spec, `Ticket ${t.ticket}`);
    expect([first.status, again.status]).toEqual([201, 409]);
    expect(first.body.endUserId).toBe('ticket-user');
    expect(again.body.error.code).toBe('TICKET_USED');
    // A ticket is a credential: it never reaches a log line.
    const findings = system().logs.lines.flatMap((l) =>
      scanText(l.text, l.process, [{ name: 'ticket', value: t.ticket }]),
    );
    expect(findings).toEqual([]);
  });
});
