import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The app's root folder (where package.json lives). */
export const APP_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Compiles this app into dist/ (tests that spawn `node dist/main.js` must not run a stale build;
 * turbo builds the dependencies before `test`, but not the app itself).
 */
export async function buildApp(): Promise<string> {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: APP_DIR });
  return path.join(APP_DIR, 'dist', 'main.js');
}
