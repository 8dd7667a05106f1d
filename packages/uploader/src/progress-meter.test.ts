import { describe, expect, it } from 'vitest';
import { ProgressMeter, type UploadProgress } from './progress-meter.js';

describe('ProgressMeter', () => {
  it('counts skipped, acknowledged and in-flight bytes, never going back on a retry', () => {
    let t = 0;
    const meter = new ProgressMeter({ totalBytes: 1000, partsTotal: 4, now: () => t });
    meter.skipped(1, 250);
    meter.read(250);
    meter.sent(2, 100);
    expect(meter.snapshot()).toMatchObject({
      bytesRead: 250,
      bytesUploaded: 350,
      partsDone: 1,
      partsTotal: 4,
    });
    meter.reset(2);
    expect(meter.snapshot().bytesUploaded).toBe(350);
    t = 1000;
    meter.partDone(2, 250);
    const p = meter.snapshot();
    expect(p).toMatchObject({ bytesUploaded: 500, partsDone: 2, totalBytes: 1000 });
    expect(p.bytesPerSecond).toBe(150);
  });

  it('emits at start, on every interval and once at the end', async () => {
    const seen: UploadProgress[] = [];
    const meter = new ProgressMeter({
      totalBytes: null,
      partsTotal: null,
      intervalMs: 10,
      onProgress: (p) => seen.push(p),
    });
    meter.start();
    expect(seen).toHaveLength(1);
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (seen.length >= 3) {
          clearInterval(check);
          resolve();
        }
      }, 5);
    });
    meter.setTotals(42, 1);
    meter.stop();
    meter.stop();
    const last = seen.at(-1)!;
    expect(last).toMatchObject({ totalBytes: 42, partsTotal: 1 });
    const count = seen.length;
    await new Promise((r) => setTimeout(r, 30));
    expect(seen).toHaveLength(count);
  });

  it('survives a consumer that throws', () => {
    const meter = new ProgressMeter({
      totalBytes: 1,
      partsTotal: 1,
      onProgress: () => {
        throw new Error('consumer bug');
      },
    });
    expect(() => {
      meter.start();
      meter.stop();
    }).not.toThrow();
  });
});
