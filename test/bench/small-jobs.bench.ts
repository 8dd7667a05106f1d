/**
 * Small-jobs benchmark: BENCH_JOBS (1,000) image jobs of BENCH_FILE_KIB (100 KiB) files end to end
 * through the system as processes (redis-server, emulator, API, 2 workers), next to the bare cost of
 * the same VOD + OSS calls made directly (CreateUploadImage, InitiateMultipartUpload, UploadPart,
 * CompleteMultipartUpload, as the engine makes them for a one-part file) with the same concurrency
 * (workers × WORKER_CONCURRENCY), in ONE run.
 *
 *   node test/bench/small-jobs.bench.ts            (after `pnpm build`)
 *
 * End to end: the jobs are submitted with POST /v1/jobs/batch (100 per request, so the API is not the
 * limit) and the clock stops when the last record is terminal; every result's size and CRC-64 are
 * checked against the file. CPU per job of every process tells what limits the rate. Progress goes
 * to stderr; the last stdout line holds the figures. Asserts no time.
 *
 * Knobs: BENCH_JOBS=1000, BENCH_FILE_KIB=100, BENCH_WORKERS=2, BENCH_WORKER_CONCURRENCY=4,
 * BENCH_WARMUP=40, BENCH_QUEUE_SHARDS=1 (MEDIAFERRY_QUEUE_SHARDS of API and workers), BENCH_WORKER_LOG_LEVEL=info, BENCH_CPU_PROF=1 (CPU-profile worker 0 during the
 * end-to-end phase through its inspector and print where its CPU goes).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { VodClient } from '@mediaferry/aliyun';
import { crc64 } from '@mediaferry/crc64';
import { EmulatorAdminClient } from '@mediaferry/emulator';
import {
  closeRedis,
  createRedis,
  decodeJobRecord,
  type JobRecord,
  StoreKeys,
  waitForRedisReady,
} from '@mediaferry/queue';
import { freePort, makeTempDir, startRedisServer } from '@mediaferry/testkit';
import { makeServices, startApiProcess } from './support/api-process.ts';
import { bareImageUpload } from './support/bare-image-upload.ts';
import { Cleanup } from './support/cleanup.ts';
import { bucketTimes, type CpuProfile, formatProfile, summarizeProfile } from './support/cpu-profile.ts';
import { callsPerJob } from './support/emulator-calls.ts';
import { InspectorSession } from './support/inspector-profiler.ts';
import {
  CpuMeter,
  machineLine,
  printFigures,
  redisCommandsPerJob,
  resetRedisStats,
  summarize,
} from './support/stats.ts';
import {
  makeEmulatorAccount,
  startEmulatorProcess,
  startWorkerProcess,
  type WorkerHandle,
} from './support/system-processes.ts';
import { WORKER_COST_BUCKETS } from './support/worker-cost-buckets.ts';

const num = (name: string, fallback: number) => {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : Number(v);
};
const JOBS = num('BENCH_JOBS', 1000);
const FILE_BYTES = num('BENCH_FILE_KIB', 100) * 1024;
const WORKERS = num('BENCH_WORKERS', 2);
const WORKER_CONCURRENCY = num('BENCH_WORKER_CONCURRENCY', 4);
const WARMUP = num('BENCH_WARMUP', 40);
const CPU_PROF = process.env.BENCH_CPU_PROF === '1';
const QUEUE_SHARDS = num('BENCH_QUEUE_SHARDS', 1);
const BATCH = 100;
const PREFIX = 'mfsmall';

const log = (msg: string) => process.stderr.write(`${msg}\n`);

interface MediaFile {
  path: string;
  crc64: string;
}

async function main(): Promise<void> {
  log(
    `small-jobs bench: ${machineLine()} jobs=${JOBS} file=${FILE_BYTES} B workers=${WORKERS}×${WORKER_CONCURRENCY}`,
  );
  const cleanup = new Cleanup();
  try {
    const work = await makeTempDir('mf-bench-small-');
    cleanup.add(() => work.remove());
    const mediaDir = path.join(work.path, 'media');
    await mkdir(mediaDir);
    const total = WARMUP * 2 + JOBS * 2;
    const files: MediaFile[] = [];
    for (let i = 0; i < total; i++) {
      const data = randomBytes(FILE_BYTES);
      const file = path.join(mediaDir, `img-${String(i).padStart(5, '0')}.jpg`);
      await writeFile(file, data);
      files.push({ path: file, crc64: crc64(data).toString() });
    }
    let nextFile = 0;
    const takeFiles = (n: number) => {
      nextFile += n;
      return files.slice(nextFile - n, nextFile);
    };

    const redisServer = await startRedisServer();
    cleanup.add(() => redisServer.stop());
    const account = makeEmulatorAccount();
    const emulator = await startEmulatorProcess(work.path, account);
    cleanup.add(() => emulator.process.stop());
    const [service] = makeServices(1);
    if (!service) throw new Error('no service');
    const api = await startApiProcess({
      redisUrl: redisServer.url,
      prefix: PREFIX,
      services: [service],
      fileRoot: mediaDir,
      workDir: work.path,
      env: { MEDIAFERRY_QUEUE_SHARDS: String(QUEUE_SHARDS) },
    });
    cleanup.add(() => api.process.stop());
    const workerEnv = {
      REDIS_URL: redisServer.url,
      MEDIAFERRY_REDIS_PREFIX: PREFIX,
      MEDIAFERRY_FILE_ROOTS: mediaDir,
      WORKER_CONCURRENCY: String(WORKER_CONCURRENCY),
      MEDIAFERRY_QUEUE_SHARDS: String(QUEUE_SHARDS),
      LOG_LEVEL: process.env.BENCH_WORKER_LOG_LEVEL || 'info',
      ...emulator.clientEnv,
    };
    const inspectPort = CPU_PROF ? await freePort() : undefined;
    const workers: WorkerHandle[] = [];
    for (let i = 0; i < WORKERS; i++) {
      const args = i === 0 && inspectPort ? [`--inspect=127.0.0.1:${inspectPort}`] : [];
      const worker = await startWorkerProcess(i, work.path, workerEnv, args);
      cleanup.add(() => worker.process.stop());
      workers.push(worker);
    }
    const redis = createRedis(redisServer.url, { role: 'client', connectionName: 'bench' });
    cleanup.add(() => closeRedis(redis));
    await waitForRedisReady(redis);
    const keys = new StoreKeys(PREFIX);

    /** ZCARDs this bench sent itself (polling), taken out of the system's Redis commands per job. */
    let ownCommands = 0;
    /** Submits jobs for `list` in batches; resolves with their records once every one is terminal. */
    const terminalCount = async () => {
      const pipeline = redis.pipeline();
      ownCommands += keys.allPartitionBases().length * 3;
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
    const runEndToEnd = async (list: MediaFile[]): Promise<JobRecord[]> => {
      const doneBefore = await terminalCount();
      const ids: string[] = [];
      for (let i = 0; i < list.length; i += BATCH) {
        const jobs = list.slice(i, i + BATCH).map((f, j) => ({
          source: { type: 'file', path: f.path },
          media: { type: 'image', title: `Bench image ${i + j}` },
        }));
        const res = await fetch(`${api.url}/v1/jobs/batch`, {
          method: 'POST',
          headers: { authorization: `Bearer ${service.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ jobs }),
        });
        const body = (await res.json()) as { jobs: { id?: string; error?: unknown }[] };
        if (res.status !== 202)
          throw new Error(`batch answered ${res.status}: ${JSON.stringify(body).slice(0, 500)}`);
        for (const job of body.jobs) ids.push(job.id as string);
      }
      // Polled cheaply (3 ZCARDs every 50 ms) so the watching adds no load.
      const deadline = Date.now() + 30 * 60_000;
      while ((await terminalCount()) < doneBefore + ids.length) {
        if (Date.now() > deadline) throw new Error('jobs did not finish in 30 min');
        for (const w of workers)
          if (!w.process.running) throw new Error(`${w.process.name} died:\n${w.process.tail()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hgetall(keys.job(id));
      return ((await pipeline.exec()) ?? []).map(([, v]) => decodeJobRecord(v as Record<string, string>)!);
    };

    const check = (records: JobRecord[], list: MediaFile[]) => {
      const bad: string[] = [];
      records.forEach((r, i) => {
        const f = list[i]!;
        if (r.status !== 'succeeded') bad.push(`${r.id} ${r.status} ${JSON.stringify(r.error)}`);
        else if (r.result?.size !== FILE_BYTES || r.result.crc64 !== f.crc64) {
          bad.push(
            `${r.id}: size ${r.result?.size} crc ${r.result?.crc64}, expected ${FILE_BYTES} ${f.crc64}`,
          );
        }
      });
      if (bad.length > 0)
        throw new Error(`${bad.length} jobs did not upload their file:\n  ${bad.slice(0, 10).join('\n  ')}`);
    };

    const vod = new VodClient({
      endpoint: emulator.url,
      regionId: 'cn-shanghai',
      accessKeyId: account.accessKeyId,
      accessKeySecret: account.accessKeySecret,
    });
    const lanes = WORKERS * WORKER_CONCURRENCY;
    const runBare = async (list: MediaFile[]) => {
      let next = 0;
      const latencies: number[] = [];
      await Promise.all(
        Array.from({ length: lanes }, async () => {
          while (next < list.length) {
            const i = next++;
            const f = list[i]!;
            const t0 = performance.now();
            const r = await bareImageUpload(vod, f.path, `Bare image ${i}`);
            latencies.push(performance.now() - t0);
            if (r.crc64 !== f.crc64) throw new Error(`bare upload ${i}: crc ${r.crc64}, expected ${f.crc64}`);
          }
        }),
      );
      return latencies;
    };

    log(`warm-up: ${WARMUP} jobs end to end, ${WARMUP} bare …`);
    const warmList = takeFiles(WARMUP);
    check(await runEndToEnd(warmList), warmList);
    await runBare(takeFiles(WARMUP));

    const pids: Record<string, number> = { api: api.process.pid, emulator: emulator.process.pid };
    for (const w of workers) pids[w.process.name] = w.process.pid;
    const cpu = new CpuMeter(pids, redis);
    const cpuLine = async (label: string) => {
      const { wallMs, cpuMs } = await cpu.end();
      log(
        `  ${label} CPU: ${Object.entries(cpuMs)
          .map(([k, v]) => `${k} ${(v / JOBS).toFixed(2)} ms/job (${((v / wallMs) * 100).toFixed(0)}%)`)
          .join(', ')}`,
      );
      return cpuMs;
    };

    log(`end to end: ${JOBS} image jobs of ${FILE_BYTES} B, ${WORKERS} workers × ${WORKER_CONCURRENCY} …`);
    const e2eList = takeFiles(JOBS);
    const admin = new EmulatorAdminClient(emulator.url, account.adminToken);
    await admin.clearRequests();
    await resetRedisStats(redis);
    ownCommands = 0;
    const inspector = inspectPort ? await InspectorSession.connect(inspectPort) : undefined;
    await inspector?.startProfiling();
    await cpu.begin();
    let t0 = performance.now();
    const records = await runEndToEnd(e2eList);
    const e2eMs = performance.now() - t0;
    const e2eCpu = await cpuLine('end to end');
    const measured = await redisCommandsPerJob(redis, JOBS);
    const e2eRedis = { ...measured, total: measured.total - ownCommands / JOBS };
    log(
      `  end to end, Redis commands per job: ${e2eRedis.total.toFixed(1)} (without the bench's own ${(ownCommands / JOBS).toFixed(1)} zcard polls) — ${e2eRedis.line}`,
    );
    let profile: CpuProfile | undefined;
    if (inspector) {
      profile = await inspector.stopProfiling();
      inspector.close();
      log(formatProfile('of worker 0 during the end-to-end phase', summarizeProfile(profile, 20)));
    }
    check(records, e2eList);
    log(`  end to end, emulator calls: ${await callsPerJob(admin, JOBS)}`);
    const e2eRate = (JOBS / e2eMs) * 1000;
    const total_ = summarize(records.map((r) => (r.finishedAt ?? 0) - r.createdAt));
    const run = summarize(records.map((r) => (r.finishedAt ?? 0) - (r.startedAt ?? 0)));
    const wait = summarize(records.map((r) => (r.startedAt ?? 0) - r.createdAt));
    log(
      `  end to end: ${e2eRate.toFixed(1)} jobs/s in ${(e2eMs / 1000).toFixed(2)} s; per job (ms, whole): ` +
        `run p50 ${run.p50} p99 ${run.p99}; queued→started p50 ${wait.p50}; created→finished p99 ${total_.p99}; ` +
        `attempts>1: ${records.filter((r) => r.attempts > 1).length}`,
    );

    log(`bare calls: ${JOBS} × (CreateUploadImage + Initiate + UploadPart + Complete), ${lanes} at once …`);
    const bareList = takeFiles(JOBS);
    await admin.clearRequests();
    await cpu.begin();
    t0 = performance.now();
    const bareLatencies = await runBare(bareList);
    const bareMs = performance.now() - t0;
    const bareCpu = await cpuLine('bare calls');
    const bareRate = (JOBS / bareMs) * 1000;
    const bare = summarize(bareLatencies);
    log(`  bare calls, emulator calls: ${await callsPerJob(admin, JOBS)}`);
    log(
      `  bare calls: ${bareRate.toFixed(1)} jobs/s; per job p50 ${bare.p50.toFixed(1)} ms p99 ${bare.p99.toFixed(1)} ms`,
    );

    const workerCpu = workers.reduce((n, w) => n + (e2eCpu[w.process.name] ?? 0), 0);
    if (profile) {
      // Worker 0's split applied to the CPU all workers used per job (they run the same code).
      log(`  worker CPU by step of a job (worker 0's profile × ${(workerCpu / JOBS).toFixed(2)} ms/job):`);
      for (const row of bucketTimes(profile, WORKER_COST_BUCKETS)) {
        log(
          `    ${(row.share * 100).toFixed(1).padStart(5)}%  ${((row.share * workerCpu) / JOBS).toFixed(3)} ms/job  ${row.name}`,
        );
      }
    }
    printFigures({
      jobs: JOBS,
      file_bytes: FILE_BYTES,
      workers: WORKERS,
      concurrency: lanes,
      e2e_jobs_per_s: e2eRate,
      bare_jobs_per_s: bareRate,
      ratio: e2eRate / bareRate,
      e2e_run_p50_ms: run.p50,
      e2e_run_p99_ms: run.p99,
      bare_p50_ms: bare.p50,
      bare_p99_ms: bare.p99,
      worker_cpu_ms_per_job: workerCpu / JOBS,
      e2e_emulator_cpu_ms_per_job: (e2eCpu.emulator ?? 0) / JOBS,
      e2e_redis_cpu_ms_per_job: (e2eCpu.redis ?? 0) / JOBS,
      e2e_redis_cmds_per_job: e2eRedis.total,
      queue_shards: QUEUE_SHARDS,
      bare_client_cpu_ms_per_job: (bareCpu.bench ?? 0) / JOBS,
      bare_emulator_cpu_ms_per_job: (bareCpu.emulator ?? 0) / JOBS,
      load1: os.loadavg()[0] ?? 0,
    });
  } finally {
    await cleanup.run();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `small-jobs bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
