import { randomBytes } from 'node:crypto';
import { StoreKeys } from '@mediaferry/queue';
import { describe, expect, it } from 'vitest';
import { expectNoCrashes, expectNoSecrets, expectObjectMatches } from './support/expectations.js';
import { waitForProgress, waitForTerminal } from './support/job-waits.js';
import { makeRandomFile, mib } from './support/media-files.js';
import type { System } from './support/system.js';
import { useSystem } from './support/use-system.js';
import { pollUntil } from './support/waits.js';

const PART_SIZE = 256 * 1024;
const env = { UPLOAD_PART_SIZE: String(PART_SIZE), WORKER_LOCK_DURATION_MS: '8000' };

/**
 * Jobs mid-upload when the Redis master dies; `killMaster` kills it and resolves once a replica was
 * promoted. Every job must still succeed with an intact object, each with exactly one VOD media.
 */
async function survivesMasterLoss(sys: System, killMaster: () => Promise<string>): Promise<void> {
  const client = sys.client('svc-a');
  const run = randomBytes(3).toString('hex');
  await sys.admin.throttle(2 * 1024 * 1024);
  const files = await Promise.all(
    [3, 4, 2.5, 3.5, 1, 4.5, 2, 3].map((size, i) =>
      makeRandomFile(sys.mediaDir, `failover-${run}-${i}.mp4`, mib(size)),
    ),
  );
  const jobs = [];
  for (const [i, file] of files.entries()) {
    jobs.push(
      await client.createJob({
        source: { type: 'file', path: file.path },
        media: { type: 'video', title: `Failover ${run} ${i}` },
        // Half with an idempotency key: its key and the record share a partition (and a master).
        ...(i % 2 ? { idempotencyKey: `failover-${run}-${i}` } : {}),
      }),
    );
  }
  // Some jobs mid-upload, the rest queued or running: the failover hits every state.
  await waitForProgress(client, jobs[0]!.id, (p) => p.partsDone >= 2);
  const killed = await killMaster();
  await pollUntil(
    `the API to answer again after ${killed} died`,
    async () => ((await fetch(`${sys.apiUrl}/readyz`)).status === 200 ? true : undefined),
    { timeoutMs: 60_000 },
  );
  await sys.admin.throttle(null);

  for (const [i, job] of jobs.entries()) {
    const done = await waitForTerminal(client, job.id);
    await expectObjectMatches(sys, done, files[i]!);
  }
  // One media per job: a lost write may cost re-sent parts, never a second media.
  const created = (await sys.admin.requests({ operation: 'CreateUploadVideo' })).filter(
    (e) => e.status === 200,
  );
  expect(new Set(created.map((e) => e.mediaId)).size).toBe(jobs.length);
  // The idempotency keys still name their jobs.
  const again = await client.createJob({
    source: { type: 'file', path: files[1]!.path },
    media: { type: 'video', title: `Failover ${run} 1` },
    idempotencyKey: `failover-${run}-1`,
  });
  expect(again.id).toBe(jobs[1]!.id);
  expectNoCrashes(sys);
  expectNoSecrets(sys);
}

describe('a Redis Cluster master killed mid-run (3 masters + 3 replicas, 3 queue shards)', () => {
  const system = useSystem({ workers: 2, redis: 'cluster', queueShards: 3, env });

  it('its replica takes over and every job succeeds intact, with no duplicate media', async () => {
    const sys = system();
    const cluster = sys.redisCluster!;
    await survivesMasterLoss(sys, async () => {
      // The master of upload shard 0 (its BullMQ lists and locks) and of whatever else shares it.
      const slot = await cluster.keySlot(new StoreKeys(sys.redisPrefix).uploadQueuePrefix(0));
      const { killed, promoted } = await cluster.killMasterOf(slot);
      expect(promoted.server.port).not.toBe(killed.port);
      return `master :${killed.port}`;
    });
  });
});

describe('a Sentinel-managed master killed mid-run (master + replica + 3 sentinels)', () => {
  const system = useSystem({ workers: 2, redis: 'sentinel', env });

  it('the apps follow the promoted replica and every job succeeds intact', async () => {
    const sys = system();
    const sentinel = sys.redisSentinel!;
    await survivesMasterLoss(sys, async () => {
      const { killed, promoted } = await sentinel.killMaster();
      expect(promoted.port).not.toBe(killed.port);
      return `master :${killed.port}`;
    });
  });
});
