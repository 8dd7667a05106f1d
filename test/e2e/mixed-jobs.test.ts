import { randomBytes } from 'node:crypto';
import { VodClient } from '@mediaferry/aliyun';
import type { JobSpecInput, JobView } from '@mediaferry/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoCrashes, expectNoSecrets, expectObjectMatches } from './support/expectations.js';
import { expectAllSucceeded, waitForTerminal } from './support/job-waits.js';
import { makeRandomFile, mib, type SourceFile } from './support/media-files.js';
import { scrapeMetric } from './support/metrics.js';
import { SourceServer } from './support/source-server.js';
import { useSystem } from './support/use-system.js';
import { verifySignature, WebhookReceiver } from './support/webhook-receiver.js';

const PART_SIZE = 256 * 1024;

describe('30 mixed jobs over 2 workers', () => {
  const system = useSystem({ workers: 2, env: { UPLOAD_PART_SIZE: String(PART_SIZE) } });
  let sources: SourceServer;
  let hooks: WebhookReceiver;

  beforeAll(async () => {
    sources = await SourceServer.start();
    hooks = await WebhookReceiver.start();
  });
  afterAll(async () => {
    await sources?.close();
    await hooks?.close();
  });

  it('uploads every kind of job byte for byte, with media ids', async () => {
    const sys = system();
    const client = sys.client('svc-a');
    const run = randomBytes(4).toString('hex');
    // Sizes straddle the part size: single-part, exact multiples and ragged tails.
    const videoSizes = [
      0.1, 0.25, 0.5, 1, 1.3, 2, 2.75, 3, 4, 5.5, 0.75, 1.6, 2.2, 3.4, 4.75, 6, 1, 2.5, 0.9,
    ];
    type Planned = { spec: JobSpecInput; file: SourceFile; kind: string; ossKey?: string };
    const planned: Planned[] = [];
    for (const [i, size] of videoSizes.entries()) {
      const file = await makeRandomFile(sys.mediaDir, `video-${run}-${i}.mp4`, mib(size));
      const viaUrl = i % 2 === 1;
      planned.push({
        kind: viaUrl ? 'url video' : 'file video',
        file,
        spec: {
          source: viaUrl
            ? { type: 'url', url: sources.serve(file.name, file.path) }
            : { type: 'file', path: file.path },
          media: { type: 'video', title: `Video ${i} (${run})`, tags: ['e2e'], description: 'mixed e2e' },
        },
      });
    }
    for (const [i, size] of [0.2, 0.6, 1.1, 0.05].entries()) {
      const file = await makeRandomFile(sys.mediaDir, `image-${run}-${i}.jpg`, mib(size));
      planned.push({
        kind: 'image',
        file,
        spec: {
          source:
            i % 2
              ? { type: 'url', url: sources.serve(file.name, file.path) }
              : { type: 'file', path: file.path },
          media: { type: 'image', title: `Image ${i}` },
        },
      });
    }
    for (const [i, size] of [0.01, 0.03, 0.3].entries()) {
      const file = await makeRandomFile(sys.mediaDir, `subtitle-${run}-${i}.vtt`, mib(size));
      planned.push({
        kind: 'subtitle',
        file,
        spec: {
          source: { type: 'file', path: file.path },
          media: { type: 'attached', businessType: 'subtitle', fileExtension: 'vtt', title: `Subtitle ${i}` },
        },
      });
    }
    for (const [i, size] of [0.4, 1.5, 3.2, 2].entries()) {
      const file = await makeRandomFile(sys.mediaDir, `plain-${run}-${i}.bin`, mib(size));
      const ossKey = `e2e/${run}/plain ${i}+.bin`;
      planned.push({
        kind: 'oss',
        file,
        ossKey,
        spec: {
          source:
            i % 2
              ? { type: 'url', url: sources.serve(file.name, file.path) }
              : { type: 'file', path: file.path },
          media: { type: 'video', title: `Plain ${i}` },
          target: { type: 'oss', bucket: 'mediaferry-local', key: ossKey },
        },
      });
    }
    expect(planned).toHaveLength(30);

    // Half one by one, half in a batch: both entry points feed the same queue.
    const created: JobView[] = [];
    for (const p of planned.slice(0, 15)) created.push(await client.createJob(p.spec));
    const batch = await client.createJobs(planned.slice(15).map((p) => p.spec));
    for (const item of batch) {
      if (!('id' in item)) throw new Error(`batch entry refused: ${JSON.stringify(item)}`);
      created.push(item);
    }
    expect(created.every((j) => j.service === 'svc-a' && ['queued', 'running'].includes(j.status))).toBe(
      true,
    );

    const jobs = await expectAllSucceeded(
      client,
      created.map((j) => j.id),
    );
    const media = new Map((await sys.admin.listMedia()).map((m) => [m.id, m]));
    for (const [i, job] of jobs.entries()) {
      const p = planned[i]!;
      await expectObjectMatches(sys, job, p.file);
      expect(job.attempts).toBeGreaterThanOrEqual(1);
      expect(job.progress.uploadedBytes).toBe(p.file.size);
      if (p.kind === 'oss') {
        expect(job.result).toMatchObject({ bucket: 'mediaferry-local', objectKey: p.ossKey });
        continue;
      }
      const mediaId = job.result?.mediaId;
      expect(mediaId, `${p.kind} job ${job.id} has no media id`).toEqual(expect.any(String));
      const m = media.get(mediaId!);
      expect(m, `media ${mediaId} unknown to the emulator`).toBeDefined();
      expect(m).toMatchObject({
        kind: p.kind === 'subtitle' ? 'attached' : p.kind === 'image' ? 'image' : 'video',
        bucket: job.result?.bucket,
        key: job.result?.objectKey,
      });
    }
    // One media per VOD job: nothing created twice.
    const vodJobs = jobs.filter((_, i) => planned[i]!.kind !== 'oss');
    expect(new Set(vodJobs.map((j) => j.result?.mediaId)).size).toBe(vodJobs.length);

    // Both workers took part (each reports uploaded bytes on its own /metrics).
    for (const w of sys.workers) {
      const uploaded = await scrapeMetric(w.metricsUrl, 'mediaferry_upload_bytes_total');
      expect(uploaded, `worker ${w.index} uploaded nothing`).toBeGreaterThan(0);
    }
    expectNoCrashes(sys);
  });

  it('POSTs a signed webhook for a job with a callbackUrl', async () => {
    const sys = system();
    const client = sys.client('svc-a');
    const file = await makeRandomFile(sys.mediaDir, `hooked-${randomBytes(3).toString('hex')}.mp4`, mib(0.7));
    const job = await client.createJob({
      source: { type: 'file', path: file.path },
      media: { type: 'video', title: 'Hooked' },
      callbackUrl: hooks.url('/hooks/svc-a'),
    });
    const done = await waitForTerminal(client, job.id);
    expect(done.status).toBe('succeeded');
    const delivery = await hooks.waitFor(
      (d) => (d.json as { job?: { id?: string } } | undefined)?.job?.id === job.id,
      AbortSignal.timeout(60_000),
    );
    expect(delivery.headers['content-type']).toMatch(/^application\/json/);
    expect(verifySignature(delivery, sys.services['svc-a']!.webhookSecret)).toBe(true);
    // Another service's secret must not verify it.
    expect(verifySignature(delivery, sys.services['svc-b']!.webhookSecret)).toBe(false);
    expect(delivery.headers['x-mediaferry-timestamp']).toEqual(expect.any(String));
    const body = delivery.json as { event: string; job: JobView };
    expect(body.event).toBe('job.succeeded');
    expect(body.job).toMatchObject({ id: job.id, service: 'svc-a', status: 'succeeded' });
    expect(body.job.result?.mediaId).toBe(done.result?.mediaId);
    await expectObjectMatches(sys, done, file);
  });

  it('the CLI uploads a file with --wait and exits 0; another service gets a non-zero exit', async () => {
    const sys = system();
    const file = await makeRandomFile(sys.mediaDir, `cli-${randomBytes(3).toString('hex')}.mp4`, mib(1.2));
    const up = await sys.cli(['upload', file.path, '--title', 'From the CLI', '--wait', '--json']);
    expect(up.code, up.stderr).toBe(0);
    const job = JSON.parse(up.stdout) as JobView;
    expect(job.status).toBe('succeeded');
    await expectObjectMatches(sys, await sys.client('svc-a').getJob(job.id), file);
    const other = await sys.cli(['job', job.id], 'svc-b');
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain('NOT_FOUND');
  });

  it('leaks no AccessKey secret or STS token into any log line or API response', async () => {
    const sys = system();
    // An UploadAuth of our own, decoded: its token and secret must not show up anywhere either.
    const vod = new VodClient({
      endpoint: sys.env.VOD_ENDPOINT!,
      regionId: sys.env.VOD_REGION!,
      accessKeyId: sys.accessKeyId,
      accessKeySecret: sys.accessKeySecret,
    });
    const ticket = await vod.createUploadVideo({ title: 'secret scan', fileName: 'scan.mp4' });
    expectNoSecrets(sys, [
      { name: 'an STS SecurityToken we obtained', value: ticket.credentials.securityToken },
      { name: 'an STS AccessKeySecret we obtained', value: ticket.credentials.accessKeySecret },
    ]);
  });
});
