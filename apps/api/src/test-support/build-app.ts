import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The app's root folder (where package.json lives). */
export const APP_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface AppBuild {
  /** Folder with the compiled app (its imports resolve through the app's node_modules). */
  dir: string;
  mainJs: string;
  remove(): Promise<void>;
}

/**
 * Compiles this app into a private folder under `.tmp/` (git-ignored), so tests that spawn the real
 * entry point never run a stale dist/ and test files building at the same time never collide.
 */
export async function buildApp(): Promise<AppBuild> {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const dir = path.join(APP_DIR, '.tmp', `build-${process.pid}-${randomBytes(3).toString('hex')}`);
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', dir], {
      cwd: APP_DIR,
    });
  } catch (err) {
    // tsc writes what it can before failing: leave nothing behind.
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return { dir, mainJs: path.join(dir, 'main.js'), remove: () => rm(dir, { recursive: true, force: true }) };
}
