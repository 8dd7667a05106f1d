import { describe, expect, it } from 'vitest';
import { isJobId, JOB_ID_PARTITIONS, jobIdPartition, newJobId } from './ids.js';

describe('job ids', () => {
  it('carry a partition: random by default, fixed on request, readable from any id', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 400; i++) seen.add(jobIdPartition(newJobId()));
    expect(seen.size).toBeGreaterThan(JOB_ID_PARTITIONS / 2);
    for (let p = 0; p < JOB_ID_PARTITIONS; p++) {
      const id = newJobId(1_700_000_000_000, p);
      expect(isJobId(id)).toBe(true);
      expect(jobIdPartition(id)).toBe(p);
      // Still sorted by time: the partition digit comes after the timestamp.
      expect(newJobId(1_700_000_000_001, 0) > id).toBe(true);
    }
    expect(jobIdPartition('job_x')).toBe(0);
    expect(() => newJobId(0, JOB_ID_PARTITIONS)).toThrow(RangeError);
  });
});
