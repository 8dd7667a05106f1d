/**
 * Worker-scaling benchmark: does adding workers add throughput, until the shared storage link is full?
 * Run it through `pnpm bench:scaling` (test/bench/worker-scaling.sh, as root): the script builds the
 * network namespaces and tc links and runs this file inside the hub namespace; it is not meant to be
 * started by hand. Not part of CI or `pnpm test`.
 *
 * Every app is its own process: redis-server and the API here in the hub, the emulator in its storage
 * namespace behind the shared link (BENCH_STORAGE_MBIT), each worker in its own namespace behind its
 * own link (BENCH_WORKER_MBIT) with a delay relay (support/delay-relay.main.ts) between it and the
 * emulator that adds BENCH_RTT_MS to every round trip (this kernel has no sch_netem). Rates are the
 * real 200 Mbit/s + 1 Gbit/s scaled down (BENCH_RATE_SCALE, default 0.25) to fit a 2-core machine. For 1, 2, 4 and 8 workers the same workload
 * per worker runs: BENCH_JOBS_PER_WORKER (2) × BENCH_FILE_MIB (64 MiB) file jobs submitted through the
 * API's batch endpoint, uploaded by the workers into the emulator's OSS; the clock stops when the last
 * record is terminal and every result's size and CRC-64 are checked against the file. The workload
 * grows with the worker count (not one fixed N) so that the 1-worker run stays short on a small machine
 * while the 8-worker run still lasts long enough to fill the storage link.
 *
 * Prints, per worker count: aggregate MB/s (10^6 B), efficiency vs linear (MB/s(n) / (n × MB/s(1))),
 * storage-link use, Redis CPU per GiB and per job (INFO cpu before/after), and the emulator's and the
 * workers' CPU as a share of one core (what else could be the limit). Asserts no time.
 *
 * Knobs: BENCH_WORKER_COUNTS=1,2,4,8 BENCH_JOBS_PER_WORKER=2 BENCH_FILE_MIB=64
 * BENCH_WORKER_CONCURRENCY=2 (jobs at once per worker) BENCH_PART_PARALLELISM=4 (parts at once per job);
 * the link rates come from the script (BENCH_RATE_SCALE there).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { crc64 } from '@mediaferry/crc64';
import {
  closeRedis,
  createRedis,
  decodeJobRecord,
  type JobRecord,
  StoreKeys,
  waitForRedisReady,
} from '@mediaferry/queue';
import { makeTempDir, startRedisServer } from '@mediaferry/testkit';
import { makeServices, startApiProcess } from './support/api-process.ts';
import { Cleanup } from './support/cleanup.ts';
import { startDelayRelay, startEmulatorInNamespace, startWorkerInNamespace } from './support/netns-apps.ts';
import { CpuMeter, machineLine, printFigures } from './support/stats.ts';
import { makeEmulatorAccount, type WorkerHandle } from './support/system-processes.ts';

const num = (name: string, fallback: number) => {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : Number(v);
};
const TAG = process.env.BENCH_NS_TAG;
const MAX_WORKERS = num('BENCH_MAX_WORKERS', 8);
const COUNTS = (process.env.BENCH_WORKER_COUNTS || '1,2,4,8')
  .split(',')
  .map(Number)
  .filter((n) => n >= 1 && n <= MAX_WORKERS);
const JOBS_PER_WORKER = num('BENCH_JOBS_PER_WORKER', 2);
const FILE_BYTES = num('BENCH_FILE_MIB', 64) * 1024 * 1024;
const WORKER_CONCURRENCY = num('BENCH_WORKER_CONCURRENCY', 2);
const PART_PARALLELISM = num('BENCH_PART_PARALLELISM', 4);
const WORKER_MBIT = num('BENCH_WORKER_MBIT', 50);
const STORAGE_MBIT = num('BENCH_STORAGE_MBIT', 250);
const RTT_MS = num('BENCH_RTT_MS', 20);
const HUB_ADDRESS = '10.213.0.1';
const STORAGE_ADDRESS = '10.213.0.2';
const workerAddress = (i: number) => `10.213.0.${10 + i}`;
const PREFIX = 'mfscale';
const GiB = 1024 ** 3;

const log = (msg: string) => process.stderr.write(`${msg}\n`);

interface MediaFile {
  path: string;
  crc64: string;
}

interface Row {
  workers: number;
  jobs: number;
  seconds: number;
  mbps: number;
  redisCpuMsPerGiB: number;
  redisCpuMsPerJob: number;
  emulatorCore: number;
  workersCore: number;
}

async function main(): Promise<void> {
  if (!TAG)
    throw new Error('run it with `pnpm bench:scaling` (test/bench/worker-scaling.sh builds the network)');
  if (COUNTS[0] !== 1) throw new Error('BENCH_WORKER_COUNTS must start with 1 (the linear baseline)');
  log(
    `worker-scaling bench: ${machineLine()} counts=${COUNTS.join(',')} jobs/worker=${JOBS_PER_WORKER} ` +
      `file=${FILE_BYTES / 1024 / 1024} MiB worker link ${WORKER_MBIT} Mbit/s storage ${STORAGE_MBIT} Mbit/s RTT ${RTT_MS} ms`,
  );
  const cleanup = new Cleanup();
  try {
    const work = await makeTempDir('mf-bench-scaling-');
    cleanup.add(() => work.remove());
    const mediaDir = path.join(work.path, 'media');
    await mkdir(mediaDir);
    const maxJobs = Math.max(...COUNTS) * JOBS_PER_WORKER;
    const files: MediaFile[] = [];
    for (let i = 0; i < maxJobs; i++) {
      const data = randomBytes(FILE_BYTES);
      const file = path.join(mediaDir, `video-${String(i).padStart(3, '0')}.mp4`);
      await writeFile(file, data);
      files.push({ path: file, crc64: crc64(data).toString() });
    }

    const redisServer = await startRedisServer({
      extraArgs: ['--bind', '127.0.0.1', HUB_ADDRESS, '--protected-mode', 'no'],
    });
    cleanup.add(() => redisServer.stop());
    const account = makeEmulatorAccount();
    const emulator = await startEmulatorInNamespace(`${TAG}-stor`, STORAGE_ADDRESS, work.path, account);
    cleanup.add(() => emulator.process.stop());
    const [service] = makeServices(1);
    if (!service) throw new Error('no service');
    const api = await startApiProcess({
      redisUrl: redisServer.url,
      prefix: PREFIX,
      services: [service],
      fileRoot: mediaDir,
      workDir: work.path,
    });
    cleanup.add(() => api.process.stop());
    const workerEnv = {
      REDIS_URL: `redis://${HUB_ADDRESS}:${redisServer.port}`,
      MEDIAFERRY_REDIS_PREFIX: PREFIX,
      MEDIAFERRY_FILE_ROOTS: mediaDir,
      WORKER_CONCURRENCY: String(WORKER_CONCURRENCY),
      UPLOAD_PART_PARALLELISM: String(PART_PARALLELISM),
      LOG_LEVEL: 'info',
      ...emulator.clientEnv,
    };
    const redis = createRedis(redisServer.url, { role: 'client', connectionName: 'bench' });
    cleanup.add(() => closeRedis(redis));
    await waitForRedisReady(redis);
    const keys = new StoreKeys(PREFIX);
    const terminalCount = async () => {
      const pipeline = redis.pipeline();
      for (const base of keys.allPartitionBases()) {
        for (const status of ['succeeded', 'failed', 'canceled'] as const) {
          pipeline.zcard(keys.index(base, service.name, status));
        }
      }
      return ((await pipeline.exec()) ?? []).reduce((n, [err, v]) => {
        if (err) throw err;
        return n + Number(v);
      }, 0);
    };

    const workers: WorkerHandle[] = [];
    const runOnce = async (n: number, list: MediaFile[], deadlineMs: number): Promise<JobRecord[]> => {
      const doneBefore = await terminalCount();
      const res = await fetch(`${api.url}/v1/jobs/batch`, {
        method: 'POST',
        headers: { authorization: `Bearer ${service.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          jobs: list.map((f, i) => ({
            source: { type: 'file', path: f.path },
            media: { type: 'video', title: `Scaling ${n}×${i}` },
          })),
        }),
      });
      const body = (await res.json()) as { jobs: { id?: string }[] };
      if (res.status !== 202)
        throw new Error(`batch answered ${res.status}: ${JSON.stringify(body).slice(0, 500)}`);
      const ids = body.jobs.map((j) => j.id as string);
      const deadline = Date.now() + deadlineMs;
      while ((await terminalCount()) < doneBefore + ids.length) {
        if (Date.now() > deadline) {
          const tails = workers.map((w) => `${w.process.name}:\n${w.process.tail(15)}`).join('\n');
          throw new Error(`${n} workers: jobs did not finish in ${deadlineMs.toFixed(0)} ms\n${tails}`);
        }
        for (const w of workers)
          if (!w.process.running) throw new Error(`${w.process.name} died:\n${w.process.tail()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hgetall(keys.job(id));
      const records = ((await pipeline.exec()) ?? []).map(
        ([, v]) => decodeJobRecord(v as Record<string, string>)!,
      );
      const bad = records.flatMap((r, i) =>
        r.status === 'succeeded' && r.result?.size === FILE_BYTES && r.result.crc64 === list[i]?.crc64
          ? []
          : [`${r.id} ${r.status} size ${r.result?.size} crc ${r.result?.crc64} ${JSON.stringify(r.error)}`],
      );
      if (bad.length > 0)
        throw new Error(`${bad.length} jobs did not upload their file:\n  ${bad.join('\n  ')}`);
      return records;
    };

    const rows: Row[] = [];
    for (const n of COUNTS) {
      while (workers.length < n) {
        const i = workers.length;
        const relay = await startDelayRelay(
          `relay-${i}`,
          `${TAG}-w${i}`,
          STORAGE_ADDRESS,
          9000,
          RTT_MS / 2,
          work.path,
        );
        cleanup.add(() => relay.stop());
        const w = await startWorkerInNamespace(i, `${TAG}-w${i}`, workerAddress(i), work.path, workerEnv);
        cleanup.add(() => w.process.stop());
        workers.push(w);
      }
      const list = files.slice(0, n * JOBS_PER_WORKER);
      const bytes = list.length * FILE_BYTES;
      // Ideal time at the link limit, ×6 + 1 min: a run that slow is broken, not slow.
      const idealS = bytes / ((Math.min(n * WORKER_MBIT, STORAGE_MBIT) * 1e6) / 8);
      log(
        `${n} worker(s): ${list.length} jobs × ${FILE_BYTES / 1024 / 1024} MiB (ideal ${idealS.toFixed(1)} s) …`,
      );
      const pids: Record<string, number> = { emulator: emulator.process.pid };
      for (const w of workers) pids[w.process.name] = w.process.pid;
      const cpu = new CpuMeter(pids, redis);
      await cpu.begin();
      const t0 = performance.now();
      const records = await runOnce(n, list, idealS * 6_000 + 60_000);
      const ms = performance.now() - t0;
      const { wallMs, cpuMs } = await cpu.end();
      const workersCpu = workers.reduce((s, w) => s + (cpuMs[w.process.name] ?? 0), 0);
      const row: Row = {
        workers: n,
        jobs: records.length,
        seconds: ms / 1000,
        mbps: bytes / 1e6 / (ms / 1000),
        redisCpuMsPerGiB: (cpuMs.redis ?? 0) / (bytes / GiB),
        redisCpuMsPerJob: (cpuMs.redis ?? 0) / records.length,
        emulatorCore: (cpuMs.emulator ?? 0) / wallMs,
        workersCore: workersCpu / wallMs,
      };
      rows.push(row);
      log(
        `  ${row.mbps.toFixed(1)} MB/s in ${row.seconds.toFixed(1)} s; attempts>1: ${records.filter((r) => r.attempts > 1).length}`,
      );
    }

    const base = rows[0]?.mbps ?? 1;
    const storageMBps = STORAGE_MBIT / 8;
    const lines = [
      `workers | jobs | seconds | MB/s  | efficiency | storage link | Redis CPU ms/GiB | Redis CPU ms/job | emulator CPU | workers CPU`,
      ...rows.map(
        (r) =>
          `${String(r.workers).padStart(7)} | ${String(r.jobs).padStart(4)} | ${r.seconds.toFixed(1).padStart(7)} | ` +
          `${r.mbps.toFixed(1).padStart(5)} | ${(r.mbps / (r.workers * base)).toFixed(2).padStart(10)} | ` +
          `${`${((r.mbps / storageMBps) * 100).toFixed(0)}%`.padStart(12)} | ${r.redisCpuMsPerGiB.toFixed(0).padStart(16)} | ` +
          `${r.redisCpuMsPerJob.toFixed(1).padStart(16)} | ${`${(r.emulatorCore * 100).toFixed(0)}%`.padStart(12)} | ` +
          `${`${(r.workersCore * 100).toFixed(0)}%`.padStart(11)}`,
      ),
    ];
    process.stdout.write(
      `\nworker links ${WORKER_MBIT} Mbit/s (${WORKER_MBIT / 8} MB/s), storage ${STORAGE_MBIT} Mbit/s (${storageMBps} MB/s), RTT ${RTT_MS} ms, ` +
        `${JOBS_PER_WORKER} × ${FILE_BYTES / 1024 / 1024} MiB jobs per worker, ${WORKER_CONCURRENCY} jobs × ${PART_PARALLELISM} parts at once per worker\n` +
        `${lines.join('\n')}\n`,
    );
    printFigures({
      ...Object.fromEntries(
        rows.flatMap((r) => [
          [`mbps_${r.workers}`, r.mbps],
          [`eff_${r.workers}`, r.mbps / (r.workers * base)],
        ]),
      ),
      redis_cpu_ms_per_gib: rows.reduce((s, r) => s + r.redisCpuMsPerGiB, 0) / rows.length,
      load1: os.loadavg()[0] ?? 0,
    });
  } finally {
    await cleanup.run();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `worker-scaling bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
