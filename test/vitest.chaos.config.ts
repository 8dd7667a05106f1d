import { defineConfig } from 'vitest/config';
import { sharedTestConfig } from '../vitest.shared.ts';

/** The chaos scenario (`pnpm --filter @mediaferry/system-tests chaos`): minutes of load, not in `pnpm test`. */
export default defineConfig({
  ...sharedTestConfig,
  test: {
    ...sharedTestConfig.test,
    include: ['chaos/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 900_000,
    hookTimeout: 120_000,
  },
});
