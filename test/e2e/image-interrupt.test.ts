import { describe, expect, it } from 'vitest';
import { expectNoCrashes, expectObjectMatches } from './support/expectations.js';
import { startInterruptibleJobs } from './support/interrupted-upload.js';
import { waitForTerminal } from './support/job-waits.js';
import { listAllOpenUploads } from './support/object-check.js';
import { useSystem } from './support/use-system.js';

const SHORT_LOCKS = { WORKER_LOCK_DURATION_MS: '4000', WORKER_STALLED_INTERVAL_MS: '2000' };

describe('a worker killed with SIGKILL in the middle of an image upload', () => {
  const system = useSystem({
    workers: 1,
    env: { UPLOAD_PART_SIZE: String(256 * 1024), UPLOAD_PART_PARALLELISM: '2', ...SHORT_LOCKS },
  });

  it('leaves no open multipart upload and exactly one image media', async () => {
    const sys = system();
    const client = sys.client('svc-a');
    const { jobs, files, owner } = await startInterruptibleJobs(sys, {
      count: 1,
      sizeMiB: 2,
      throttleBytesPerSecond: 256 * 1024,
      mediaType: 'image',
    });
    const job = jobs[0]!;
    // Mid-upload for real: parts recorded, the multipart upload open on the server.
    const bucket = (await sys.admin.listMedia()).find((m) => m.title === job.media.title)!.bucket;
    expect(await listAllOpenUploads(sys.ossAccount, bucket)).toHaveLength(1);
    owner.kill('SIGKILL');
    await owner.process.exited;
    await sys.admin.throttle(null);

    const done = await waitForTerminal(client, job.id);
    expect(done.status).toBe('succeeded');
    await expectObjectMatches(sys, done, files[0]!);
    // The standby had no credential for the first image: it made a new one and deleted the first.
    const images = (await sys.admin.listMedia()).filter((m) => m.title === job.media.title);
    expect(images.map((m) => ({ id: m.id, status: m.status }))).toEqual([
      { id: done.result!.mediaId, status: 'Normal' },
    ]);
    expect(await sys.admin.requests({ operation: 'DeleteImage' })).toHaveLength(1);
    expect(await listAllOpenUploads(sys.ossAccount, bucket)).toEqual([]);
    expectNoCrashes(sys);
  });
});
