import { PassThrough } from 'node:stream';
import type { JobProgress } from '@mediaferry/client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createProgressDisplay } from './progress-display.js';

const progress = (uploadedBytes: number): JobProgress => ({
  uploadedBytes,
  totalBytes: 1000,
  percent: uploadedBytes / 10,
  partsDone: 0,
  partsTotal: 1,
  bytesPerSecond: 100,
});

afterEach(() => {
  vi.useRealTimers();
});

describe('plain progress lines (not a TTY)', () => {
  it('writes status changes at once and at most one progress line per interval', () => {
    vi.useFakeTimers();
    const stream = new PassThrough();
    const lines: string[] = [];
    stream.on('data', (d) => lines.push(...String(d).split('\n').filter(Boolean)));
    const display = createProgressDisplay({ stream, lineIntervalMs: 1000 });
    display.progress(progress(0));
    display.status('running');
    for (let b = 100; b <= 500; b += 100) display.progress(progress(b));
    vi.advanceTimersByTime(1000);
    vi.advanceTimersByTime(1000); // nothing changed: no new line
    display.progress(progress(1000));
    display.status('succeeded');
    display.stop();
    stream.end();
    expect(lines).toEqual([
      'running: 0 B / 1000 B (0.0%) at 100 B/s, ETA 10s',
      'running: 500 B / 1000 B (50.0%) at 100 B/s, ETA 5s',
      'succeeded: 1000 B / 1000 B (100.0%) at 100 B/s, ETA 0s',
    ]);
  });
});
