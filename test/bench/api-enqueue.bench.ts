/**
 * API enqueue benchmark: POST /v1/jobs against the API running as its own process
 * (`apps/api/dist/main.js`), next to raw BullMQ `addBulk` of the same jobs on the same Redis, in ONE run.
 *
 *   node test/bench/api-enqueue.bench.ts            (after `pnpm build`)
 *
 * Phases: warm-up; closed loop (BENCH_JOBS requests, one per keep-alive connection of an undici Pool)
 * → enqueue rate and latency; open loop paced at BENCH_PACED_RATE jobs/s, latency counted from each
 * request's scheduled time (no coordinated omission); raw BullMQ `addBulk` of the same specs in chunks
 * (fresh prefix); `queue.add` with the same number in flight; POST /v1/jobs/batch for reference.
 * Prints progress and CPU per job to stderr; the last stdout line holds the figures. Asserts no time.
 *
 * Knobs (environment): BENCH_JOBS=10000, BENCH_CONNECTIONS=64, BENCH_PACED_RATE=1000,
 * BENCH_PACED_SECONDS=10, BENCH_RAW_CHUNK=1000, BENCH_BATCH_SIZE=100, BENCH_SERVICES=64,
 * BENCH_API_LOG_LEVEL=info, BENCH_IDEMPOTENCY=1 (send an idempotencyKey per job, as producers should),
 * BENCH_CPU_PROF=1 (CPU-profile the API during the closed loop through its inspector and print where
 * its CPU goes, by function and by step of the request), BENCH_API_WHATIF=switch,… (run the what-if
 * experiment of support/api-what-if.main.ts instead of the API: measures a proposed fix).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { newJobId } from '@mediaferry/core';
import {
  closeRedis,
  createRedis,
  createUploadQueue,
  QUEUE_NAMES,
  UPLOAD_JOB_NAME,
  uploadJobOptions,
  waitForRedisReady,
} from '@mediaferry/queue';
import { freePort, makeTempDir, startRedisServer } from '@mediaferry/testkit';
import { Queue } from 'bullmq';
import { Pool } from 'undici';
import { API_COST_BUCKETS } from './support/api-cost-buckets.ts';
import { makeServices, startApiProcess } from './support/api-process.ts';
import { Cleanup } from './support/cleanup.ts';
import { bucketTimes, formatProfile, summarizeProfile } from './support/cpu-profile.ts';
import { InspectorSession } from './support/inspector-profiler.ts';
import { closedLoop, type LoadResult, openLoop, statusLine } from './support/load.ts';
import { readRequestLines } from './support/server-log.ts';
import {
  CpuMeter,
  machineLine,
  printFigures,
  redisCommandsPerJob,
  resetRedisStats,
  summarize,
} from './support/stats.ts';

const num = (name: string, fallback: number) => {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : Number(v);
};
const JOBS = num('BENCH_JOBS', 10_000);
const CONNECTIONS = num('BENCH_CONNECTIONS', 64);
const PACED_RATE = num('BENCH_PACED_RATE', 1000);
const PACED_JOBS = Math.round(PACED_RATE * num('BENCH_PACED_SECONDS', 10));
const RAW_CHUNK = num('BENCH_RAW_CHUNK', 1000);
const BATCH_SIZE = num('BENCH_BATCH_SIZE', 100);
const SERVICES = num('BENCH_SERVICES', 64);
const WARMUP = Math.min(1000, JOBS);
const IDEMPOTENCY = process.env.BENCH_IDEMPOTENCY !== '0';
const CPU_PROF = process.env.BENCH_CPU_PROF === '1';
const WHAT_IF = process.env.BENCH_API_WHATIF ?? '';

const log = (msg: string) => process.stderr.write(`${msg}\n`);

async function main(): Promise<void> {
  log(`api-enqueue bench: ${machineLine()} jobs=${JOBS} connections=${CONNECTIONS} paced=${PACED_RATE}/s`);
  if (WHAT_IF) log(`  EXPERIMENT: the what-if API with ${WHAT_IF}, not apps/api/dist/main.js`);
  const cleanup = new Cleanup();
  try {
    const work = await makeTempDir('mf-bench-api-');
    cleanup.add(() => work.remove());
    const redisServer = await startRedisServer();
    cleanup.add(() => redisServer.stop());
    const fileRoot = path.join(work.path, 'media');
    await mkdir(fileRoot);
    const tinyFile = path.join(fileRoot, 'tiny.bin');
    await writeFile(tinyFile, 'mediaferry bench\n');

    const services = makeServices(SERVICES);
    const api = await startApiProcess({
      redisUrl: redisServer.url,
      prefix: 'mfbench',
      services,
      fileRoot,
      workDir: work.path,
      logLevel: process.env.BENCH_API_LOG_LEVEL || 'info',
      ...(CPU_PROF ? { inspectPort: await freePort() } : {}),
      ...(WHAT_IF
        ? {
            entry: path.join(import.meta.dirname, 'support/api-what-if.main.ts'),
            env: { BENCH_API_WHATIF: WHAT_IF },
          }
        : {}),
    });
    cleanup.add(() => api.process.stop());
    const redis = createRedis(redisServer.url, { role: 'client', connectionName: 'bench' });
    cleanup.add(() => closeRedis(redis));
    await waitForRedisReady(redis);
    const pool = new Pool(api.url, { connections: CONNECTIONS, pipelining: 1, keepAliveTimeout: 60_000 });
    cleanup.add(async () => {
      if (!pool.closed) await pool.close();
    });

    // One JSON body per job, built before the clock starts (the load generator must stay cheap).
    let seq = 0;
    const spec = (i: number) => ({
      source: { type: 'file', path: tinyFile },
      media: { type: 'video', title: `Bench video ${i}` },
      ...(IDEMPOTENCY ? { idempotencyKey: `bench-${seq}-${i}` } : {}),
    });
    const bodies = (n: number) => {
      seq += 1;
      return Array.from({ length: n }, (_, i) => JSON.stringify(spec(i)));
    };
    const post =
      (list: string[], urlPath = '/v1/jobs') =>
      async (i: number) => {
        const service = services[i % services.length]!;
        const res = await pool.request({
          path: urlPath,
          method: 'POST',
          headers: { authorization: `Bearer ${service.token}`, 'content-type': 'application/json' },
          body: list[i],
        });
        await res.body.dump();
        return res.statusCode;
      };
    const cpu = new CpuMeter({ api: api.process.pid }, redis);
    const cpuLine = async (label: string, jobs: number) => {
      const { wallMs, cpuMs } = await cpu.end();
      const parts = Object.entries(cpuMs).map(
        ([k, v]) => `${k} ${(v / jobs).toFixed(3)} ms/job (${((v / wallMs) * 100).toFixed(0)}% of a core)`,
      );
      log(`  ${label} CPU: ${parts.join(', ')}`);
      return cpuMs;
    };
    const report = (label: string, r: LoadResult, jobs: number) => {
      const s = summarize(r.latenciesMs);
      log(
        `  ${label}: ${((jobs / r.elapsedMs) * 1000).toFixed(0)} jobs/s in ${(r.elapsedMs / 1000).toFixed(2)} s; ` +
          `latency ms p50 ${s.p50.toFixed(1)} p90 ${s.p90.toFixed(1)} p99 ${s.p99.toFixed(1)} max ${s.max.toFixed(1)}; ` +
          `statuses ${statusLine(r.statuses)}`,
      );
      return s;
    };
    const accepted = (r: LoadResult) => r.statuses.get('202') ?? 0;

    log('warm-up …');
    const warm = await closedLoop(WARMUP, CONNECTIONS, post(bodies(WARMUP)));
    report('warm-up', warm, WARMUP);

    log(`closed loop: ${JOBS} × POST /v1/jobs, ${CONNECTIONS} in flight …`);
    const burstBodies = bodies(JOBS);
    const inspector = api.inspectPort ? await InspectorSession.connect(api.inspectPort) : undefined;
    await inspector?.startProfiling();
    await resetRedisStats(redis);
    await cpu.begin();
    const burst = await closedLoop(JOBS, CONNECTIONS, post(burstBodies));
    const burstCpu = await cpuLine('closed loop', JOBS);
    const burstRedis = await redisCommandsPerJob(redis, JOBS);
    log(`  closed loop, Redis commands per job: ${burstRedis.total.toFixed(1)} — ${burstRedis.line}`);
    if (inspector) {
      const profile = await inspector.stopProfiling();
      inspector.close();
      log(formatProfile('of the API during the closed loop', summarizeProfile(profile, 20)));
      log(`  API CPU by step of POST /v1/jobs (closed loop, ${JOBS} jobs):`);
      for (const row of bucketTimes(profile, API_COST_BUCKETS)) {
        log(
          `    ${(row.share * 100).toFixed(1).padStart(5)}%  ${(row.ms / JOBS).toFixed(3)} ms/job  ${row.name}`,
        );
      }
    }
    const burstStats = report('closed loop', burst, JOBS);
    const enqueueRate = (JOBS / burst.elapsedMs) * 1000;

    log(`open loop: ${PACED_JOBS} × POST /v1/jobs paced at ${PACED_RATE}/s …`);
    const pacedBodies = bodies(PACED_JOBS);
    await cpu.begin();
    const paced = await openLoop(PACED_JOBS, PACED_RATE, post(pacedBodies));
    await cpuLine('open loop', PACED_JOBS);
    const pacedStats = report('open loop', paced, PACED_JOBS);
    log(
      `  open loop: max dispatch lag ${paced.maxDispatchLagMs.toFixed(1)} ms, max in flight ${paced.maxInFlight}`,
    );

    const batchRequests = Math.ceil(JOBS / BATCH_SIZE);
    log(`batch: ${batchRequests} × POST /v1/jobs/batch of ${BATCH_SIZE}, 4 in flight …`);
    const batchBodies = Array.from({ length: batchRequests }, () => {
      seq += 1;
      return JSON.stringify({
        jobs: Array.from({ length: BATCH_SIZE }, (_, i) => ({
          ...spec(i),
          idempotencyKey: `batch-${seq}-${i}`,
        })),
      });
    });
    await cpu.begin();
    const batch = await closedLoop(batchRequests, 4, post(batchBodies, '/v1/jobs/batch'));
    await cpuLine('batch', batchRequests * BATCH_SIZE);
    report('batch (per request)', batch, batchRequests);
    const batchRate = ((batchRequests * BATCH_SIZE) / batch.elapsedMs) * 1000;
    log(`  batch: ${batchRate.toFixed(0)} jobs/s`);

    // The API really enqueued what it acknowledged: count its BullMQ jobs.
    const apiQueue = createUploadQueue(redis, { prefix: 'mfbench' });
    const apiQueued = await apiQueue.getJobCountByTypes('wait', 'prioritized', 'delayed');
    const apiAccepted =
      accepted(warm) + accepted(burst) + accepted(paced) + (batch.statuses.get('202') ?? 0) * BATCH_SIZE;
    log(`  BullMQ jobs the API enqueued: ${apiQueued} (202 answers cover ${apiAccepted})`);
    await apiQueue.close();

    // Raw BullMQ on the same Redis, fresh prefix, same default job options, the same specs as data.
    const rawQueue = new Queue(QUEUE_NAMES.uploads, {
      connection: redis,
      prefix: 'mfraw',
      defaultJobOptions: uploadJobOptions(),
    });
    const rawJobs = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        name: UPLOAD_JOB_NAME,
        data: spec(i),
        opts: { jobId: newJobId(), priority: 0 },
      }));
    await rawQueue.addBulk(rawJobs(WARMUP)); // warm-up (scripts loaded, JIT)
    const rawList = rawJobs(JOBS);
    log(`raw BullMQ: addBulk of ${JOBS} in chunks of ${RAW_CHUNK} …`);
    await resetRedisStats(redis);
    await cpu.begin();
    let t0 = performance.now();
    for (let i = 0; i < rawList.length; i += RAW_CHUNK)
      await rawQueue.addBulk(rawList.slice(i, i + RAW_CHUNK));
    const rawMs = performance.now() - t0;
    const rawCpu = await cpuLine('raw addBulk', JOBS);
    const rawRedis = await redisCommandsPerJob(redis, JOBS);
    log(`  raw addBulk, Redis commands per job: ${rawRedis.total.toFixed(1)} — ${rawRedis.line}`);
    const rawRate = (JOBS / rawMs) * 1000;
    log(`  raw addBulk: ${rawRate.toFixed(0)} jobs/s`);

    const addList = rawJobs(JOBS);
    log(`raw BullMQ: queue.add × ${JOBS}, ${CONNECTIONS} in flight …`);
    t0 = performance.now();
    let nextAdd = 0;
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (nextAdd < addList.length) {
          const job = addList[nextAdd++]!;
          await rawQueue.add(job.name, job.data, job.opts);
        }
      }),
    );
    const addRate = (JOBS / (performance.now() - t0)) * 1000;
    log(`  raw add: ${addRate.toFixed(0)} jobs/s`);
    const rawCounts = await rawQueue.getJobCounts('wait', 'prioritized');
    log(`  BullMQ jobs in the raw queue: ${Object.values(rawCounts).reduce((a, b) => a + b, 0)}`);
    await rawQueue.close();

    await pool.close();
    // Stopped here so its log is complete.
    await api.process.stop();
    const served = await readRequestLines(api.process.logFile, 'POST', '/v1/jobs');
    const serverBurst = summarize(served.slice(WARMUP, WARMUP + JOBS).map((l) => l.ms));
    const serverPaced = summarize(served.slice(WARMUP + JOBS, WARMUP + JOBS + PACED_JOBS).map((l) => l.ms));
    if (served.length > 0) {
      log(
        `  time inside the API (its request log, whole ms): closed loop p50 ${serverBurst.p50} p99 ${serverBurst.p99}; ` +
          `open loop p50 ${serverPaced.p50} p99 ${serverPaced.p99}`,
      );
    }

    const errors = [warm, burst, paced].reduce(
      (n, r) => n + [...r.statuses].filter(([k]) => k !== '202').reduce((a, [, v]) => a + v, 0),
      0,
    );
    printFigures({
      enqueue_rate: Math.round(enqueueRate),
      p50_ms: burstStats.p50,
      p99_ms: burstStats.p99,
      paced_rate: PACED_RATE,
      paced_p50_ms: pacedStats.p50,
      paced_p99_ms: pacedStats.p99,
      paced_max_ms: pacedStats.max,
      paced_dispatch_lag_ms: paced.maxDispatchLagMs,
      raw_addbulk_rate: Math.round(rawRate),
      ratio: enqueueRate / rawRate,
      raw_add_rate: Math.round(addRate),
      batch_rate: Math.round(batchRate),
      api_cpu_ms_per_job: (burstCpu.api ?? 0) / JOBS,
      redis_cpu_ms_per_job: (burstCpu.redis ?? 0) / JOBS,
      raw_redis_cpu_ms_per_job: (rawCpu.redis ?? 0) / JOBS,
      redis_cmds_per_job: burstRedis.total,
      server_p99_ms: serverBurst.p99,
      paced_server_p99_ms: serverPaced.p99,
      non_202: errors,
      api_queued: apiQueued,
      load1: os.loadavg()[0] ?? 0,
      ...(WHAT_IF ? { what_if: WHAT_IF } : {}),
    });
  } finally {
    await cleanup.run();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `api-enqueue bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
