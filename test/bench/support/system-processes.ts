import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { freePort } from '@mediaferry/testkit';
import { appEntry, BenchProcess, waitHttpOk } from './app-process.ts';

/** The account the emulator accepts and the workers sign with (random per run). */
export interface EmulatorAccount {
  accessKeyId: string;
  accessKeySecret: string;
  adminToken: string;
}

export function makeEmulatorAccount(): EmulatorAccount {
  return {
    accessKeyId: `LTAIbench${randomBytes(6).toString('hex')}`,
    accessKeySecret: `bench-secret-${randomBytes(12).toString('hex')}`,
    adminToken: randomBytes(16).toString('hex'),
  };
}

export interface EmulatorHandle {
  process: BenchProcess;
  url: string;
  /** The environment every other app needs to reach it (VOD endpoint, account pair). */
  clientEnv: Record<string, string>;
}

/** `node apps/emulator/dist/main.js` on a free port with its data under `workDir`; waits for its admin health. */
export async function startEmulatorProcess(
  workDir: string,
  account: EmulatorAccount,
  nodeArgs: string[] = [],
): Promise<EmulatorHandle> {
  const port = await freePort();
  const dataDir = path.join(workDir, 'emulator-data');
  await mkdir(dataDir, { recursive: true });
  const proc = new BenchProcess('emulator', appEntry('emulator'), {
    env: {
      EMULATOR_PORT: String(port),
      EMULATOR_DATA_DIR: dataDir,
      EMULATOR_ACCESS_KEY_ID: account.accessKeyId,
      EMULATOR_ACCESS_KEY_SECRET: account.accessKeySecret,
      EMULATOR_ADMIN_TOKEN: account.adminToken,
      EMULATOR_OSS_SIGNATURES: 'v4-only',
      BIND_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    },
    logFile: path.join(workDir, 'emulator.log'),
    nodeArgs,
  });
  const url = `http://127.0.0.1:${port}`;
  // The admin API wants the token; poll it with a fetch that carries it.
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (!proc.running) throw new Error(`emulator exited while starting:\n${proc.tail()}`);
    const ok = await fetch(`${url}/__emulator/health`, {
      headers: { authorization: `Bearer ${account.adminToken}` },
      signal: AbortSignal.timeout(2_000),
    }).then(
      async (res) => {
        await res.arrayBuffer();
        return res.ok;
      },
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      await proc.stop(2_000);
      throw new Error(`the emulator did not become healthy:\n${proc.tail()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    process: proc,
    url,
    clientEnv: {
      VOD_ENDPOINT: url,
      VOD_REGION: 'cn-shanghai',
      ALIBABA_CLOUD_ACCESS_KEY_ID: account.accessKeyId,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: account.accessKeySecret,
    },
  };
}

export interface WorkerHandle {
  process: BenchProcess;
  metricsUrl: string;
}

/** `node apps/worker/dist/main.js` with its own metrics port; waits for its /healthz. */
export async function startWorkerProcess(
  index: number,
  workDir: string,
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Promise<WorkerHandle> {
  const port = await freePort();
  const proc = new BenchProcess(`worker-${index}`, appEntry('worker'), {
    env: { ...env, WORKER_METRICS_PORT: String(port), BIND_HOST: '127.0.0.1' },
    logFile: path.join(workDir, `worker-${index}.log`),
    nodeArgs,
  });
  const metricsUrl = `http://127.0.0.1:${port}`;
  try {
    await waitHttpOk(`${metricsUrl}/healthz`, proc);
  } catch (err) {
    await proc.stop(2_000);
    throw err;
  }
  return { process: proc, metricsUrl };
}
