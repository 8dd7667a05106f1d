import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';

export interface AppBuild {
  /** Folder with the compiled app (its imports resolve through the app's node_modules). */
  dir: string;
  mainJs: string;
  remove(): Promise<void>;
}

/**
 * Compiles the app at `appDir` into a private folder under `<appDir>/.tmp/` (git-ignored), so tests
 * that spawn the real entry point never run a stale dist/ and test files building at once never collide.
 */
export async function buildAppForTest(appDir: string): Promise<AppBuild> {
  const tsc = createRequire(path.join(appDir, 'package.json')).resolve('typescript/bin/tsc');
  const dir = path.join(appDir, '.tmp', `build-${process.pid}-${randomBytes(3).toString('hex')}`);
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', dir], {
      cwd: appDir,
    });
  } catch (err) {
    // tsc writes what it can before failing: leave nothing behind.
    await remove();
    throw err;
  }
  return { dir, mainJs: path.join(dir, 'main.js'), remove };
}
