import type { ViteUserConfig } from 'vitest/config';

/**
 * One test configuration for every package. The `mediaferry:src` export condition makes workspace
 * imports resolve to TypeScript sources, so tests never run against a stale `dist/`.
 */
export const sharedTestConfig = {
  resolve: { conditions: ['mediaferry:src', 'node', 'import', 'default'] },
  ssr: { resolve: { conditions: ['mediaferry:src', 'node', 'import', 'default'] } },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Tests spawn real servers (redis, emulator, HTTP sources); a failure must show the real cause, not a retry.
    retry: 0,
  },
} satisfies ViteUserConfig;
