import { describe, expect, it } from 'vitest';
import { parseJobEvent } from './job-events.js';

const progress = {
  uploadedBytes: 5,
  totalBytes: 10,
  percent: 50,
  partsDone: 1,
  partsTotal: 2,
  bytesPerSecond: 1,
};

describe('parseJobEvent', () => {
  it('reads progress sent bare or wrapped', () => {
    expect(parseJobEvent({ event: 'progress', id: '7', data: JSON.stringify(progress) })).toEqual({
      type: 'progress',
      eventId: '7',
      progress,
    });
    expect(
      parseJobEvent({ event: 'progress', data: JSON.stringify({ type: 'progress', progress }) }),
    ).toMatchObject({
      progress,
    });
  });

  it('reads status events carrying the job view or only the status', () => {
    const job = {
      id: 'job_1',
      status: 'failed',
      progress,
      error: { code: 'X', message: 'm', retryable: false },
    };
    expect(parseJobEvent({ event: 'status', data: JSON.stringify(job) })).toMatchObject({
      type: 'status',
      status: 'failed',
      job,
      error: job.error,
    });
    expect(parseJobEvent({ event: 'status', data: '{"status":"running"}' })).toMatchObject({
      status: 'running',
      job: null,
      error: null,
    });
  });

  it('ignores heartbeats, unknown events and garbage', () => {
    expect(parseJobEvent({ event: 'ping', data: '{}' })).toBeUndefined();
    expect(parseJobEvent({ event: 'status', data: 'not json' })).toBeUndefined();
    expect(parseJobEvent({ event: 'status', data: '{"status":"exploded"}' })).toBeUndefined();
    expect(parseJobEvent({ event: 'progress', data: '{"percent":3}' })).toBeUndefined();
  });
});
