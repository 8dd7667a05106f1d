import { type ChildProcess, spawn } from 'node:child_process';

/**
 * A worker in its own process, from a `buildApp()` build, with a short BullMQ lock,
 * so a test can SIGKILL it and see stalled detection hand its job to another worker within seconds.
 * (`main.ts` reads the same knobs from WORKER_LOCK_DURATION_MS / WORKER_STALLED_INTERVAL_MS; this entry
 * point takes any `UploadWorkerOptions` as JSON.)
 */
const SCRIPT = `
import { loadConfig } from '@mediaferry/config';
import { createRedis } from '@mediaferry/queue';
import { sourcePolicyFromConfig } from '@mediaferry/sources';
import { createLogger, createWorkerMetrics } from '@mediaferry/telemetry';
const { buildWorker } = await import(process.env.MF_TEST_BUILD + '/build-worker.js');
const { targetDepsFromConfig } = await import(process.env.MF_TEST_BUILD + '/target-deps.js');
const config = loadConfig(JSON.parse(process.env.MF_TEST_ENV));
const logger = createLogger({ name: 'killable-worker', level: 'info' });
const worker = buildWorker({
  config,
  redis: createRedis(config.redis, { role: 'worker', logger }),
  subscriber: createRedis(config.redis, { role: 'subscriber', logger }),
  logger,
  metrics: createWorkerMetrics(),
  sourcePolicy: sourcePolicyFromConfig(config),
  targetDeps: targetDepsFromConfig(config),
  options: JSON.parse(process.env.MF_TEST_OPTIONS),
});
await worker.start();
process.stdout.write('KILLABLE_WORKER_READY\\n');
`;

export async function startKillableWorker(
  buildDir: string,
  env: Record<string, string>,
  options: Record<string, unknown>,
): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', SCRIPT], {
    cwd: buildDir,
    env: {
      PATH: process.env.PATH ?? '',
      MF_TEST_BUILD: buildDir,
      MF_TEST_ENV: JSON.stringify(env),
      MF_TEST_OPTIONS: JSON.stringify(options),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += String(d);
      if (output.includes('KILLABLE_WORKER_READY')) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d) => {
      output += String(d);
    });
    child.once('exit', (code) => reject(new Error(`killable worker exited (${code}):\n${output}`)));
  });
  return { child, output: () => output };
}
