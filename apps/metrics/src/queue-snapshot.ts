import type { Job, JobType, Queue } from 'bullmq';

/** Job states reported as `mediaferry_queue_jobs{state}` (CONTRACT §5 plus BullMQ's own). */
export const QUEUE_STATES = [
  'waiting',
  'active',
  'delayed',
  'failed',
  'completed',
  'paused',
  'prioritized',
  'waiting-children',
] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

export interface QueueSnapshot {
  queue: string;
  counts: Record<QueueState, number>;
  /** Age of the oldest job waiting to be picked (0 when none waits). */
  oldestWaitingSeconds: number;
  /** The queue is paused (BullMQ ≥ 5 keeps a paused queue's jobs in `waiting`). */
  paused: boolean;
}

/**
 * When a waiting job started waiting, as well as the job hash tells: its creation (plus its initial
 * delay), or the start of its last attempt if it ran before (a retried or handed-back job). This errs
 * towards a younger age for retried jobs, never towards a false alarm for a fresh backlog.
 */
export function waitingSince(job: Pick<Job, 'timestamp' | 'processedOn' | 'opts'>): number {
  const created = job.timestamp + (job.opts?.delay ?? 0);
  return Math.max(created, job.processedOn ?? 0);
}

/**
 * The candidates for "oldest waiting job": the tail of the wait list (FIFO jobs are pushed on the
 * left and taken from the right) and the head of the prioritized set (the next one a worker takes,
 * lowest score = highest priority, oldest first within a priority).
 */
async function oldestWaitingSince(queue: Queue): Promise<number | undefined> {
  const [tail, head] = await Promise.all([
    queue.getJobs(['waiting'], 0, 0, true),
    queue.getJobs(['prioritized'], 0, 0, true),
  ]);
  const times = [...tail, ...head].filter(Boolean).map(waitingSince);
  return times.length > 0 ? Math.min(...times) : undefined;
}

/**
 * Reads one queue's counts per state, oldest waiting age and paused flag. BullMQ ≥ 5 leaves a paused
 * queue's jobs in its wait list; like older BullMQ (which moved them to a `paused` list) we report
 * them as `paused`, not `waiting`, so each job is counted in exactly one state and "jobs waiting for
 * a worker" stays meaningful. The legacy `paused` list (data from older versions) is added in.
 */
export async function readQueueSnapshot(queue: Queue, now: number): Promise<QueueSnapshot> {
  const states = QUEUE_STATES.map((s) => s as JobType);
  const [counts, since, paused] = await Promise.all([
    queue.getJobCounts(...states),
    oldestWaitingSince(queue),
    queue.isPaused(),
  ]);
  const byState = Object.fromEntries(QUEUE_STATES.map((s) => [s, Number(counts[s] ?? 0)])) as Record<
    QueueState,
    number
  >;
  if (paused) {
    byState.paused += byState.waiting;
    byState.waiting = 0;
  }
  return {
    queue: queue.name,
    counts: byState,
    // Clamped: a producer's clock slightly ahead of ours must not report a negative age.
    oldestWaitingSeconds: since === undefined ? 0 : Math.max(0, (now - since) / 1000),
    paused,
  };
}
