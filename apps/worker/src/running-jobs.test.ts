import { describe, expect, it } from 'vitest';
import { RunningJobs } from './running-jobs.js';

describe('RunningJobs', () => {
  it('stops a run once, with the first reason', () => {
    const jobs = new RunningJobs();
    const run = jobs.add('job_a');
    expect(jobs.stop('job_a', 'cancel')).toBe(true);
    expect(jobs.stop('job_a', 'shutdown')).toBe(true);
    expect(run.signal.aborted).toBe(true);
    expect(run.reason).toBe('cancel');
    expect(jobs.stop('job_other', 'cancel')).toBe(false);
  });

  it('keeps the newer run of a job when a stale run of it unwinds', () => {
    const jobs = new RunningJobs();
    const stale = jobs.add('job_a');
    const fresh = jobs.add('job_a'); // the stale run lost its lock; this worker took the job again
    jobs.delete('job_a', stale);
    expect(jobs.size).toBe(1);
    expect(jobs.stop('job_a', 'cancel')).toBe(true);
    expect(fresh.reason).toBe('cancel');
    expect(stale.signal.aborted).toBe(false);
    jobs.delete('job_a', fresh);
    expect(jobs.size).toBe(0);
  });

  it('starts runs registered after a shutdown began already stopped', () => {
    const jobs = new RunningJobs();
    const before = jobs.add('job_a');
    jobs.stopAll('shutdown');
    expect(before.reason).toBe('shutdown');
    const late = jobs.add('job_b');
    expect(late.signal.aborted).toBe(true);
    expect(late.reason).toBe('shutdown');
  });
});
