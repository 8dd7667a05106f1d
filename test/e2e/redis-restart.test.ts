import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { expectNoCrashes, expectNoSecrets, expectObjectMatches } from './support/expectations.js';
import { waitForProgress, waitForTerminal } from './support/job-waits.js';
import { makeRandomFile, mib } from './support/media-files.js';
import { useSystem } from './support/use-system.js';
import { pollUntil } from './support/waits.js';

describe('Redis killed and restarted mid-run (appendonly on)', () => {
  const system = useSystem({ workers: 2, appendOnlyRedis: true, env: { UPLOAD_PART_SIZE: '262144' } });

  it('every job still finishes, intact, and no process dies', async () => {
    const sys = system();
    const client = sys.client('svc-a');
    const run = randomBytes(3).toString('hex');
    await sys.admin.throttle(2 * 1024 * 1024);
    const files = await Promise.all(
      [3, 4, 2.5, 3.5, 1, 4.5].map((size, i) =>
        makeRandomFile(sys.mediaDir, `redis-${run}-${i}.mp4`, mib(size)),
      ),
    );
    const jobs = [];
    for (const [i, file] of files.entries()) {
      jobs.push(
        await client.createJob({
          source: { type: 'file', path: file.path },
          media: { type: 'video', title: `Redis outage ${run} ${i}` },
        }),
      );
    }
    // Some jobs mid-upload, the rest queued or running: the outage hits every state.
    await waitForProgress(client, jobs[0]!.id, (p) => p.partsDone >= 2);

    await sys.redis.kill('SIGKILL');
    await pollUntil('the API to report Redis down', async () =>
      (await fetch(`${sys.apiUrl}/readyz`)).status === 503 ? true : undefined,
    );
    // While Redis is away the API refuses politely instead of hanging or crashing.
    const token = sys.services['svc-a']!.token;
    const refused = await sys.request('GET', `/v1/jobs/${jobs[1]!.id}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect({ status: refused.status, code: JSON.parse(refused.text).error?.code }).toEqual({
      status: 503,
      code: 'UNAVAILABLE',
    });
    await sys.redis.restart();
    await pollUntil('the API to report Redis back', async () =>
      (await fetch(`${sys.apiUrl}/readyz`)).status === 200 ? true : undefined,
    );
    await sys.admin.throttle(null);

    for (const [i, job] of jobs.entries()) {
      const done = await waitForTerminal(client, job.id);
      await expectObjectMatches(sys, done, files[i]!);
    }
    // Nothing was uploaded twice as a new media.
    const created = await sys.admin.requests({ operation: 'CreateUploadVideo' });
    expect(new Set(created.filter((e) => e.status === 200).map((e) => e.mediaId)).size).toBe(jobs.length);
    expectNoCrashes(sys);
    // Error paths (lost locks, stalls, reconnects) log the most: still no secret.
    expectNoSecrets(sys);
  });
});
