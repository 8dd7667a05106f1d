import { defineConfig } from 'vitest/config';
import { sharedTestConfig } from '../vitest.shared.ts';

export default defineConfig({
  ...sharedTestConfig,
  test: {
    ...sharedTestConfig.test,
    include: ['e2e/**/*.test.ts'],
    // Each file starts a whole system (redis, emulator, API, workers, metrics) as processes: one file
    // at a time keeps a 2-core machine from timing out and keeps the failover timings honest.
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
});
