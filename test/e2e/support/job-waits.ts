import { setTimeout as delay } from 'node:timers/promises';
import type { JobProgress, JobStatus, JobView, MediaferryClient } from '@mediaferry/client';
import { isTerminalStatus } from '@mediaferry/client';

/** Generous bound for one wait; a hang fails the test with a message instead of a vitest timeout. */
const DEFAULT_TIMEOUT_MS = 150_000;

/** Resolves with the job once it is succeeded, failed or canceled (events, with a polling fallback). */
export async function waitForTerminal(
  client: MediaferryClient,
  id: string,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<JobView> {
  try {
    return await client.waitForJob(id, { signal: AbortSignal.timeout(timeoutMs), pollIntervalMs: 500 });
  } catch (err) {
    const job = await client.getJob(id).catch(() => undefined);
    throw new Error(
      `job ${id} did not end within ${timeoutMs} ms (now ${job?.status}, ${JSON.stringify(job?.progress)})`,
      { cause: err },
    );
  }
}

/** Every job ended; throws listing the ones that did not succeed. */
export async function expectAllSucceeded(client: MediaferryClient, ids: string[]): Promise<JobView[]> {
  const jobs = await Promise.all(ids.map((id) => waitForTerminal(client, id)));
  const bad = jobs.filter((j) => j.status !== 'succeeded');
  if (bad.length > 0) {
    throw new Error(
      `${bad.length}/${jobs.length} jobs did not succeed:\n${bad
        .map((j) => `  ${j.id} ${j.status} ${JSON.stringify(j.error)}`)
        .join('\n')}`,
    );
  }
  return jobs;
}

/**
 * Follows the job's event stream until `predicate(progress, status)` holds; resolves with that
 * progress. Throws if the job ends first (unless the predicate accepts the final state).
 */
export async function waitForProgress(
  client: MediaferryClient,
  id: string,
  predicate: (progress: JobProgress, status: JobStatus) => boolean,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<JobProgress> {
  const signal = AbortSignal.timeout(timeoutMs);
  for (;;) {
    const job = await client.getJob(id, { signal });
    if (predicate(job.progress, job.status)) return job.progress;
    if (isTerminalStatus(job.status)) {
      throw new Error(
        `job ${id} ended (${job.status}) before the awaited progress: ${JSON.stringify(job.progress)}`,
      );
    }
    let status: JobStatus = job.status;
    try {
      for await (const event of client.events(id, { signal })) {
        if (event.type === 'status') {
          status = event.status;
          if (event.job && predicate(event.job.progress, status)) return event.job.progress;
        } else if (predicate(event.progress, status)) {
          return event.progress;
        }
      }
    } catch (err) {
      if (signal.aborted) {
        throw new Error(`job ${id}: the awaited progress did not come within ${timeoutMs} ms`, {
          cause: err,
        });
      }
      // The stream dropped (e.g. Redis restarting): back off briefly, re-read the job, follow a new stream.
      await delay(200, undefined, { signal });
    }
  }
}
