import { randomBytes } from 'node:crypto';
import type { JobView } from '@mediaferry/client';
import { waitForProgress } from './job-waits.js';
import { makeRandomFile, mib, type SourceFile } from './media-files.js';
import type { System, WorkerHandle } from './system.js';

export interface InterruptibleJobs {
  jobs: JobView[];
  files: SourceFile[];
  /** The worker that runs every one of the jobs. */
  owner: WorkerHandle;
  /** A worker started after the jobs were taken, idle and ready to take them over. */
  standby: WorkerHandle;
}

export interface InterruptibleOptions {
  count: number;
  sizeMiB: number;
  /** Emulator bandwidth while the jobs start (shared by all transfers). */
  throttleBytesPerSecond: number;
  /** Parts each job must have finished before the caller interrupts it. @defaultValue 2 */
  minPartsDone?: number;
  callbackUrl?: string;
  /** VOD media type of the jobs (an image gets a `.jpg` name). @defaultValue 'video' */
  mediaType?: 'video' | 'image';
}

/**
 * Makes jobs that are provably mid-upload on one known worker: the system runs exactly one worker
 * when they are submitted, the emulator is throttled so they stay in flight, and a second worker is
 * started only once they run. The caller interrupts `owner` and lifts the throttle.
 */
export async function startInterruptibleJobs(
  system: System,
  o: InterruptibleOptions,
): Promise<InterruptibleJobs> {
  const live = system.workers.filter((w) => w.process.running);
  if (live.length !== 1) throw new Error(`expected exactly one running worker, found ${live.length}`);
  const owner = live[0]!;
  const client = system.client('svc-a');
  await system.admin.throttle(o.throttleBytesPerSecond);
  const run = randomBytes(3).toString('hex');
  const files: SourceFile[] = [];
  const jobs: JobView[] = [];
  for (let i = 0; i < o.count; i++) {
    const ext = o.mediaType === 'image' ? 'jpg' : 'mp4';
    const file = await makeRandomFile(system.mediaDir, `interrupt-${run}-${i}.${ext}`, mib(o.sizeMiB));
    files.push(file);
    jobs.push(
      await client.createJob({
        source: { type: 'file', path: file.path },
        media: { type: o.mediaType ?? 'video', title: `Interrupted ${run} ${i}` },
        ...(o.callbackUrl ? { callbackUrl: o.callbackUrl } : {}),
      }),
    );
  }
  await Promise.all(jobs.map((j) => waitForProgress(client, j.id, (_, status) => status === 'running')));
  const standby = await system.startWorker();
  await Promise.all(
    jobs.map((j) => waitForProgress(client, j.id, (p) => p.partsDone >= (o.minPartsDone ?? 2))),
  );
  return { jobs, files, owner, standby };
}
