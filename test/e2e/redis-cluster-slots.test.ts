import { randomBytes } from 'node:crypto';
import type { RedisCluster } from '@mediaferry/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoCrashes, expectObjectMatches } from './support/expectations.js';
import { expectAllSucceeded, waitForProgress, waitForTerminal } from './support/job-waits.js';
import { makeRandomFile, mib } from './support/media-files.js';
import { scrapeMetric } from './support/metrics.js';
import { SlotMonitor } from './support/slot-monitor.js';
import { SourceServer } from './support/source-server.js';
import type { System } from './support/system.js';
import { useSystem } from './support/use-system.js';
import { pollUntil } from './support/waits.js';
import { WebhookReceiver } from './support/webhook-receiver.js';

/** Runs, on one master, a script that writes two keys of different slots that master serves. */
async function crossSlotControl(cluster: RedisCluster): Promise<void> {
  const [master] = (await cluster.topology()).filter((n) => n.role === 'master');
  if (!master) throw new Error('no master');
  const served = (slot: number) => master.slots.some(([a, b]) => slot >= a && slot <= b);
  const keys: string[] = [];
  for (let i = 0; keys.length < 2; i++) {
    const key = `slot-control:{${i}}`;
    const slot = await cluster.keySlot(key);
    if (served(slot) && !(await Promise.all(keys.map((k) => cluster.keySlot(k)))).includes(slot))
      keys.push(key);
  }
  const redis = new Redis({ port: master.server.port, lazyConnect: true, maxRetriesPerRequest: 0 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis
      .eval(
        "redis.call('SET', KEYS[1], '1'); redis.call('SET', ARGV[1], '1'); return 1",
        1,
        keys[0]!,
        keys[1]!,
      )
      .catch(() => undefined); // Redis may refuse the second key: MONITOR saw the attempt either way
  } finally {
    redis.disconnect();
  }
}

/** POST /retry until the job's last run has let go of it (409 "still stopping" meanwhile). */
async function retryWhenStopped(client: ReturnType<System['client']>, id: string): Promise<void> {
  await pollUntil(
    `job ${id} to accept a retry`,
    async () =>
      await client.retryJob(id).then(
        () => true,
        (err: { statusCode?: number }) => {
          if (err.statusCode !== 409) throw err;
          return undefined;
        },
      ),
  );
}

describe('every script and MULTI of every app stays in one Redis Cluster slot', () => {
  const system = useSystem({
    workers: 2,
    redis: 'cluster',
    queueShards: 3,
    env: { UPLOAD_PART_SIZE: '262144' },
  });
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

  it('checked with MONITOR on every master, COMMAND GETKEYS and CLUSTER KEYSLOT', async () => {
    const sys = system();
    const cluster = sys.redisCluster!;
    const monitor = await SlotMonitor.start(cluster);
    try {
      const client = sys.client('svc-a');
      const run = randomBytes(3).toString('hex');
      const files = await Promise.all(
        [0.3, 1.2, 0.1, 2].map((size, i) => makeRandomFile(sys.mediaDir, `slots-${run}-${i}.mp4`, mib(size))),
      );
      // Created one by one (with and without idempotency keys, one with a webhook), and in a batch.
      const single = [];
      for (const [i, file] of files.slice(0, 2).entries()) {
        single.push(
          await client.createJob({
            source: { type: 'file', path: file.path },
            media: { type: 'video', title: `Slots ${run} ${i}` },
            idempotencyKey: i === 0 ? `slots-${run}` : undefined,
            callbackUrl: i === 1 ? hooks.url('/slots') : undefined,
          }),
        );
      }
      const batch = await client.createJobs([
        {
          source: { type: 'url', url: sources.serve(`s-${run}.mp4`, files[2]!.path) },
          media: { type: 'video', title: 'b0' },
        },
        {
          source: { type: 'file', path: files[3]!.path },
          media: { type: 'video', title: 'b1' },
          idempotencyKey: `b-${run}`,
        },
      ]);
      const ids = [...single.map((j) => j.id), ...batch.map((j) => ('id' in j ? j.id : ''))];
      // A repeat of an idempotency key, reads, lists (every partition), events.
      expect(
        (
          await client.createJob({
            source: { type: 'file', path: files[0]!.path },
            media: { type: 'video', title: `Slots ${run} 0` },
            idempotencyKey: `slots-${run}`,
          })
        ).id,
      ).toBe(ids[0]);
      await waitForProgress(client, ids[3]!, (_, status) => status !== 'queued');
      await client.listJobs({ limit: 3 });
      await client.listJobs({ status: 'succeeded', limit: 50 });
      const done = await expectAllSucceeded(client, ids);
      await expectObjectMatches(sys, done[0]!, files[0]!);
      // A failing job (the URL answers 404), retried; a queued job canceled, then retried.
      const failing = await client.createJob({
        source: { type: 'url', url: `${sources.serve(`gone-${run}.mp4`, files[0]!.path)}-missing` },
        media: { type: 'video', title: 'gone' },
      });
      expect((await waitForTerminal(client, failing.id)).status).toBe('failed');
      await retryWhenStopped(client, failing.id);
      expect((await waitForTerminal(client, failing.id)).status).toBe('failed');
      await sys.admin.throttle(256 * 1024);
      const slow = await client.createJob({
        source: { type: 'file', path: files[3]!.path },
        media: { type: 'video', title: 'slow' },
      });
      await waitForProgress(client, slow.id, (p) => p.partsDone >= 1);
      expect((await client.cancelJob(slow.id)).status).toBe('canceled');
      await sys.admin.throttle(null);
      await retryWhenStopped(client, slow.id);
      expect((await waitForTerminal(client, slow.id)).status).toBe('succeeded');
      await hooks.waitFor(
        (d) => (d.json as { job?: { id?: string } })?.job?.id === ids[1],
        AbortSignal.timeout(30_000),
      );
      // The metrics service reads every shard.
      expect(await scrapeMetric(sys.metricsUrl, 'mediaferry_queue_redis_up')).toBe(1);
      // A control: a script of ours that does span two slots (of one master) must be caught.
      await crossSlotControl(cluster);
      await monitor.flush();
    } finally {
      monitor.stop();
    }
    const scripts = monitor.units.filter((u) => u.kind === 'script');
    expect(scripts.length).toBeGreaterThan(100);
    expect(monitor.units.some((u) => u.kind === 'script' && u.commands.length > 1)).toBe(true);
    const all = await monitor.violations();
    const controls = all.filter((v) => Object.keys(v.slots).some((k) => k.startsWith('slot-control:')));
    expect(controls).toHaveLength(1);
    const violations = all.filter((v) => !controls.includes(v));
    expect(
      violations.map(
        (v) =>
          `${v.unit.kind} ${JSON.stringify(v.unit.commands[0]?.slice(0, 4))}: ${JSON.stringify(v.slots)}`,
      ),
    ).toEqual([]);
    expectNoCrashes(sys);
  });
});
