import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { appEntry, BenchProcess, waitHttpOk } from './app-process.ts';
import type { EmulatorAccount, EmulatorHandle, WorkerHandle } from './system-processes.ts';

/** `ip netns exec <ns>`: it setns()es and execs, so the child's pid is node's own. */
const inNamespace = (ns: string) => ['ip', 'netns', 'exec', ns];

/**
 * The emulator as a process inside network namespace `ns`, listening on all its addresses; `address` is
 * the one the bench reaches it at. It hands out `http://127.0.0.1:9000` as its OSS endpoint, which in a
 * worker's namespace is that worker's delay relay (`startDelayRelay`). Waits for its health.
 */
export async function startEmulatorInNamespace(
  ns: string,
  address: string,
  workDir: string,
  account: EmulatorAccount,
): Promise<EmulatorHandle> {
  const port = 9000; // a fresh namespace: every port is free
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
      BIND_HOST: '0.0.0.0',
      LOG_LEVEL: 'warn',
    },
    logFile: path.join(workDir, 'emulator.log'),
    wrapper: inNamespace(ns),
  });
  const url = `http://${address}:${port}`;
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
      VOD_ENDPOINT: `http://127.0.0.1:${port}`,
      VOD_REGION: 'cn-shanghai',
      ALIBABA_CLOUD_ACCESS_KEY_ID: account.accessKeyId,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: account.accessKeySecret,
    },
  };
}

/** A worker process inside namespace `ns`, its metrics on `address`; waits for its /healthz. */
export async function startWorkerInNamespace(
  index: number,
  ns: string,
  address: string,
  workDir: string,
  env: Record<string, string>,
): Promise<WorkerHandle> {
  const port = 9100;
  const proc = new BenchProcess(`worker-${index}`, appEntry('worker'), {
    env: { ...env, WORKER_METRICS_PORT: String(port), BIND_HOST: address },
    logFile: path.join(workDir, `worker-${index}.log`),
    wrapper: inNamespace(ns),
  });
  const metricsUrl = `http://${address}:${port}`;
  try {
    await waitHttpOk(`${metricsUrl}/healthz`, proc);
  } catch (err) {
    await proc.stop(2_000);
    throw err;
  }
  return { process: proc, metricsUrl };
}

/**
 * support/delay-relay.main.ts inside namespace `ns`: 127.0.0.1:`port` there → `target`:`port`, each
 * chunk held `delayMs` each way (the storage link's latency, as tc cannot delay on this kernel).
 */
export async function startDelayRelay(
  name: string,
  ns: string,
  target: string,
  port: number,
  delayMs: number,
  workDir: string,
): Promise<BenchProcess> {
  const proc = new BenchProcess(name, path.join(import.meta.dirname, 'delay-relay.main.ts'), {
    env: {
      LISTEN_HOST: '127.0.0.1',
      LISTEN_PORT: String(port),
      TARGET_HOST: target,
      TARGET_PORT: String(port),
      DELAY_MS: String(delayMs),
    },
    logFile: path.join(workDir, `${name}.log`),
    nodeArgs: ['--experimental-strip-types'],
    wrapper: inNamespace(ns),
  });
  const deadline = Date.now() + 30_000;
  while (!proc.tail().includes('delay relay:')) {
    if (!proc.running) throw new Error(`${name} exited while starting:\n${proc.tail()}`);
    if (Date.now() > deadline) {
      await proc.stop(2_000);
      throw new Error(`${name} did not start:\n${proc.tail()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return proc;
}
