import path from 'node:path';
import type { ViteUserConfig } from 'vitest/config';

// scripts/test.sh sets MEDIAFERRY_TEST_REPORT_DIR to collect one JSON report per package and print a
// single "N passed, N failed" line at the end of the run.
const reportDir = process.env.MEDIAFERRY_TEST_REPORT_DIR;
const reportName = path.basename(process.cwd());

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
    reporters: reportDir ? ['default', 'json'] : ['default'],
    ...(reportDir ? { outputFile: { json: path.join(reportDir, `${reportName}.json`) } } : {}),
  },
} satisfies ViteUserConfig;
