import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AppBuild, buildAppForTest } from '@mediaferry/testkit';

export type { AppBuild };

/** The app's root folder (where package.json lives). */
export const APP_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Compiles this app into a private `.tmp/` folder for tests that spawn its real entry point. */
export const buildApp = (): Promise<AppBuild> => buildAppForTest(APP_DIR);
