/**
 * Upload engine throughput vs ali-oss and the loopback ceiling (`pnpm bench:engine`; needs `pnpm build`).
 *
 * A 2 GiB file (BENCH_SIZE_MIB) goes into the emulator (own process, `benchMode`: no MD5 on PutObject or
 * UploadPart, CRC-64 kept) as a local file and as a URL served by a small HTTP server (own process, sends
 * the file through two reused buffers). Each variant runs in its own child process, so its wall time, CPU
 * seconds and peak RSS are its own; variants are interleaved over BENCH_ROUNDS rounds and medians
 * reported, with the CPU seconds per GiB of the emulator (all threads, and its main thread, the part that
 * cannot spread over cores) and of the URL server during that variant. Every object's CRC-64 is checked
 * against the file's, then deleted (and the emulator left to finish unlinking it before the next variant).
 *
 *   engine-file     UploadEngine (Redis checkpoints, 8 MiB parts, parallelism 4), LocalFileSource
 *                   (parts streamed from the file in 1 MiB chunks)
 *   engine-file-buffered  the same with whole-part buffers (the file source seen without `openRanges`,
 *                   as the engine treats a source it cannot re-read): the data path before streaming
 *   alioss-default  ali-oss multipartUpload, defaults (1 MiB parts, parallel 5)
 *   alioss-same     ali-oss multipartUpload, the engine's part size and parallelism
 *   put-ceiling     one streamed HTTP PUT of the file (PutObject): the client-side single-stream ceiling
 *   engine-url      UploadEngine with UrlSource
 *   download-alone  UrlSource read to the end into one reused buffer (no upload)
 *   spool-alioss    download to a temp file, then ali-oss multipartUpload (engine's settings)
 *   engine-sparse   UploadEngine, a sparse 1 TiB file (105 MiB parts): the first 4 GiB
 *                   (BENCH_SPARSE_GIB), then canceled; also reports the RSS once the worker is idle again
 *   engine-4jobs    four such jobs at once in one process sharing one memory budget (the worker's
 *                   defaults: 64 MiB, parallelism 4), 1 GiB each (BENCH_SPARSE_GIB ÷ 4), then canceled
 *
 * Emulator data and spool files live in BENCH_DIR (default /dev/shm: the disk here writes ~100 MB/s);
 * the source file in the OS temp dir, read from the page cache.
 *
 * Before the last line, when the memory variants ran: `memory:` peak RSS of each engine variant, the idle
 * RSS after the canceled 1 TiB job, and engine CPU s/GiB next to ali-oss's (same run).
 *
 * Last line: engine_vs_alioss_default engine_vs_alioss_same engine_vs_ceiling engine_peak_rss_mib
 * url_overlap (engine-url ÷ max(download-alone, engine-file)) url_vs_spool (spool ÷ engine-url).
 *
 * Knobs: BENCH_VARIANTS (comma list; the last line needs all), BENCH_SIZE_MIB, BENCH_ROUNDS,
 * BENCH_VARIANT_NODE_ARGS / BENCH_EMULATOR_NODE_ARGS (node flags for the variants / the emulator, e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof`), BENCH_ECHO_CHILD_STDOUT (show what flags like --trace-gc print),
 * BENCH_HEAP_SPACES (print V8 heap spaces and RSS by mapping at the end of each variant).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { stripTypeScriptTypes } from 'node:module';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';

const MiB = 1024 * 1024;
const SIZE = Number(process.env.BENCH_SIZE_MIB ?? 2048) * MiB;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PART_SIZE = 8 * MiB;
const PARALLEL = 4;
const REGION = 'cn-shanghai';
const BUCKET = 'bench';
const AK = 'bench-access-key-id';
const SK = 'bench-access-key-secret';
const SELF = import.meta.filename;

/**
 * Children run a type-stripped copy of this file (plain JS, like a built worker: TypeScript stripping
 * costs ~17 MiB of RSS) from the temp dir, so bare specifiers are resolved by the orchestrator and
 * passed down in this variable.
 */
const MODULES_ENV = 'ENGINE_BENCH_MODULES';
const SPECIFIERS = [
  '@mediaferry/emulator',
  '@mediaferry/uploader',
  '@mediaferry/aliyun',
  '@mediaferry/sources',
  '@mediaferry/crc64',
  '@mediaferry/testkit',
  'ioredis',
  'ali-oss',
];
function load<T>(specifier: string): Promise<T> {
  const resolved = (JSON.parse(process.env[MODULES_ENV] ?? '{}') as Record<string, string>)[specifier];
  return import(resolved ?? specifier) as Promise<T>;
}

const ALL_VARIANTS = [
  'engine-file',
  'engine-file-buffered',
  'alioss-default',
  'alioss-same',
  'put-ceiling',
  'engine-url',
  'download-alone',
  'spool-alioss',
  'engine-sparse',
  'engine-4jobs',
] as const;
type Variant = (typeof ALL_VARIANTS)[number];
/** BENCH_VARIANTS=engine-file,engine-url runs a subset (the summary line then needs all). */
const VARIANTS = process.env.BENCH_VARIANTS
  ? ALL_VARIANTS.filter((v) => process.env.BENCH_VARIANTS!.split(',').includes(v))
  : ALL_VARIANTS;

interface VariantConfig {
  variant: Variant;
  file: string;
  /** The sparse 1 TiB file of the memory variants. */
  sparseFile: string;
  url: string;
  ossUrl: string;
  port: number;
  key: string;
  redisUrl: string;
  tmpDir: string;
}

interface VariantResult {
  /** RSS after setup (modules loaded, clients built), before the timed run. */
  setupRssMiB: number;
  seconds: number;
  cpuSeconds: number;
  /** CPU seconds of the main thread alone: everything on one event loop, the serial part. */
  mainCpuSeconds: number;
  maxRssMiB: number;
  /** `process.memoryUsage()` at the highest RSS sampled (every 20 ms): where the peak comes from. */
  atPeak: { heapTotalMiB: number; arrayBuffersMiB: number };
  /** Filled in by the orchestrator: CPU seconds of the emulator (all threads, main thread) and URL server. */
  emuCpu?: number;
  emuMainCpu?: number;
  srcCpu?: number;
  /** Bytes the variant moved, when not the file's size (the memory variants stop early). */
  bytes?: number;
  /** RSS once the canceled jobs' buffers were given back and the worker sat idle for 2 s. */
  idleRssMiB?: number;
}

const SPARSE_SIZE = 1024 ** 4;
const SPARSE_BYTES = Number(process.env.BENCH_SPARSE_GIB ?? 4) * 1024 ** 3;

// ---------- roles run in child processes ----------

/** The emulator as its own process, bench mode. Prints its endpoint as one JSON line. */
async function roleEmulator(dataDir: string): Promise<void> {
  const { startEmulator } = await load<typeof import('@mediaferry/emulator')>('@mediaferry/emulator');
  const emu = await startEmulator({
    dataDir,
    benchMode: true,
    buckets: [BUCKET],
    accessKeyId: AK,
    accessKeySecret: SK,
    region: REGION,
  });
  process.stdout.write(`${JSON.stringify({ url: emu.url, port: emu.port, pid: process.pid })}\n`);
  process.on('SIGTERM', () => void emu.close().then(() => process.exit(0)));
}

/**
 * Sends `file` from `start` into `out` (a response or a request body) through two reused 1 MiB buffers:
 * the cheapest way Node has to send a file over HTTP. It avoids what a `createReadStream` pipe costs (a
 * fresh buffer per read, and the GC work that follows). Used by the URL server (a media host, nginx with
 * sendfile, spends next to no CPU per byte, and this one shares the bench's two cores with the engine)
 * and by the single-stream PUT, so that the ceiling is the client's best.
 */
async function sendFile(
  file: string,
  start: number,
  out: http.ServerResponse | http.ClientRequest,
): Promise<void> {
  const fh = await open(file, 'r');
  const buffers = [Buffer.allocUnsafeSlow(MiB), Buffer.allocUnsafeSlow(MiB)];
  const flushed: (Promise<void> | undefined)[] = [undefined, undefined];
  try {
    for (let position = start, i = 0; ; i ^= 1) {
      await flushed[i]; // the socket is done with this buffer
      const { bytesRead } = await fh.read(buffers[i]!, 0, MiB, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      flushed[i] = new Promise<void>((resolve, reject) => {
        out.write(buffers[i]!.subarray(0, bytesRead), (err) => (err ? reject(err) : resolve()));
      });
      flushed[i]!.catch(() => {});
      if (out.writableNeedDrain) await new Promise((r) => out.once('drain', r));
      if (out.destroyed) throw new Error('the other side went away');
    }
    await Promise.all(flushed);
    out.end();
  } finally {
    await fh.close();
  }
}

/** A static HTTP server for the file (Range, strong ETag), as a media host would be. */
async function roleSource(file: string): Promise<void> {
  const info = await stat(file);
  const etag = `"${info.size.toString(16)}-${info.mtimeMs.toString(16)}"`;
  const server = http.createServer((req, res) => {
    const headers = { etag, 'content-type': 'video/mp4', 'accept-ranges': 'bytes' };
    if (req.method === 'HEAD') {
      res.writeHead(200, { ...headers, 'content-length': info.size });
      res.end();
      return;
    }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    res.writeHead(m ? 206 : 200, {
      ...headers,
      'content-length': info.size - start,
      ...(m ? { 'content-range': `bytes ${start}-${info.size - 1}/${info.size}` } : {}),
    });
    sendFile(file, start, res).catch(() => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}/media/source.mp4` })}\n`);
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

async function aliOss(c: VariantConfig) {
  const { default: OSS } = await load<{ default: typeof import('ali-oss') }>('ali-oss');
  return new OSS({
    endpoint: c.ossUrl,
    bucket: BUCKET,
    region: `oss-${REGION}`,
    accessKeyId: AK,
    accessKeySecret: SK,
    // V4, as the engine signs (and the bench emulator is v4-only).
    authorizationV4: true,
    timeout: 600_000,
  });
}

async function runEngine(
  c: VariantConfig,
  spec: { type: 'file'; path: string } | { type: 'url'; url: string },
  buffered = false,
) {
  const [{ UploadEngine, RedisCheckpointStore }, { OssStorageTarget }, { createSource }, { Redis }] =
    await Promise.all([
      load<typeof import('@mediaferry/uploader')>('@mediaferry/uploader'),
      load<typeof import('@mediaferry/aliyun')>('@mediaferry/aliyun'),
      load<typeof import('@mediaferry/sources')>('@mediaferry/sources'),
      load<typeof import('ioredis')>('ioredis'),
    ]);
  const redis = new Redis(c.redisUrl);
  const engine = new UploadEngine({
    checkpoints: new RedisCheckpointStore({ redis }),
    partSize: PART_SIZE,
    parallelism: PARALLEL,
  });
  const policy = { fileRoots: [path.dirname(c.file)], allowPrivate: true, maxUrlBytes: 64 * 1024 * MiB };
  const account = { endpoint: c.ossUrl, region: REGION, accessKeyId: AK, accessKeySecret: SK };
  return async () => {
    const source = createSource(spec, policy);
    await engine.run({
      uploadKey: randomUUID(),
      source: buffered
        ? {
            kind: source.kind,
            description: source.description,
            stat: (s) => source.stat(s),
            open: (o) => source.open(o),
          }
        : source,
      target: new OssStorageTarget({ account, bucket: BUCKET, key: c.key }),
    });
    redis.disconnect();
  };
}

/**
 * `jobs` uploads of the sparse 1 TiB file at once in one engine process sharing one memory budget (as a
 * worker's jobs do), each canceled after `bytesEach` uploaded bytes (its multipart upload aborted).
 */
async function runSparseJobs(c: VariantConfig, jobs: number, bytesEach: number) {
  const [
    { UploadEngine, RedisCheckpointStore, MemoryBudget },
    { OssStorageTarget },
    { createSource },
    { Redis },
  ] = await Promise.all([
    load<typeof import('@mediaferry/uploader')>('@mediaferry/uploader'),
    load<typeof import('@mediaferry/aliyun')>('@mediaferry/aliyun'),
    load<typeof import('@mediaferry/sources')>('@mediaferry/sources'),
    load<typeof import('ioredis')>('ioredis'),
  ]);
  const redis = new Redis(c.redisUrl);
  const memory = new MemoryBudget(); // the worker default: 64 MiB
  const engine = new UploadEngine({
    checkpoints: new RedisCheckpointStore({ redis }),
    partSize: PART_SIZE,
    parallelism: PARALLEL,
    memory,
    progressIntervalMs: 50,
  });
  const policy = { fileRoots: [path.dirname(c.sparseFile)], allowPrivate: true, maxUrlBytes: 5 * 1024 ** 3 };
  const account = { endpoint: c.ossUrl, region: REGION, accessKeyId: AK, accessKeySecret: SK };
  const one = async (i: number) => {
    const uploadKey = randomUUID();
    const target = () => new OssStorageTarget({ account, bucket: BUCKET, key: `${c.key}-${i}` });
    const ac = new AbortController();
    const run = engine.run({
      uploadKey,
      source: createSource({ type: 'file', path: c.sparseFile }, policy),
      target: target(),
      signal: ac.signal,
      onProgress: (p) => {
        if (p.bytesUploaded >= bytesEach) ac.abort();
      },
    });
    await run.then(
      () => {
        throw new Error('a 1 TiB upload completed');
      },
      (err: unknown) => {
        if ((err as Error).name !== 'AbortError') throw err;
      },
    );
    await engine.cancel(uploadKey, target()); // aborts the multipart upload: the emulator drops the parts
  };
  return async () => {
    await Promise.all(Array.from({ length: jobs }, (_, i) => one(i)));
    redis.disconnect();
  };
}

/** What each variant does; setup (imports, clients) is outside the timed part. */
async function prepareVariant(c: VariantConfig): Promise<() => Promise<void>> {
  switch (c.variant) {
    case 'engine-file':
      return runEngine(c, { type: 'file', path: c.file });
    case 'engine-file-buffered':
      return runEngine(c, { type: 'file', path: c.file }, true);
    case 'engine-url':
      return runEngine(c, { type: 'url', url: c.url });
    case 'engine-sparse':
      return runSparseJobs(c, 1, SPARSE_BYTES);
    case 'engine-4jobs':
      return runSparseJobs(c, 4, SPARSE_BYTES / 4);
    case 'alioss-default': {
      const oss = await aliOss(c);
      return async () => void (await oss.multipartUpload(c.key, c.file, {}));
    }
    case 'alioss-same': {
      const oss = await aliOss(c);
      return async () =>
        void (await oss.multipartUpload(c.key, c.file, { partSize: PART_SIZE, parallel: PARALLEL }));
    }
    case 'spool-alioss': {
      const oss = await aliOss(c);
      return async () => {
        const tmp = path.join(c.tmpDir, `spool-${randomUUID()}`);
        await new Promise<void>((resolve, reject) => {
          http
            .get(c.url, (res) => pipeline(res, createWriteStream(tmp)).then(resolve, reject))
            .on('error', reject);
        });
        await oss.multipartUpload(c.key, tmp, { partSize: PART_SIZE, parallel: PARALLEL });
        await rm(tmp, { force: true });
      };
    }
    case 'download-alone': {
      const { createSource } = await load<typeof import('@mediaferry/sources')>('@mediaferry/sources');
      const source = createSource(
        { type: 'url', url: c.url },
        { fileRoots: [], allowPrivate: true, maxUrlBytes: 1e12 },
      );
      return async () => {
        const reader = await source.open({ start: 0 });
        const buffer = Buffer.allocUnsafeSlow(PART_SIZE);
        while ((await reader.read(buffer)) > 0) {}
        await reader.close();
      };
    }
    case 'put-ceiling':
      // The same bytes as one PutObject, sent as cheaply as Node can: what a single stream can reach.
      return async () => {
        const date = new Date().toUTCString();
        const type = 'application/octet-stream';
        const toSign = `PUT\n\n${type}\n${date}\n/${BUCKET}/${c.key}`;
        const signature = createHmac('sha1', SK).update(toSign).digest('base64');
        const req = http.request({
          host: '127.0.0.1',
          port: c.port,
          method: 'PUT',
          path: `/${c.key}`,
          headers: {
            host: `${BUCKET}.oss-${REGION}.aliyuncs.com`,
            date,
            'content-type': type,
            'content-length': SIZE,
            authorization: `OSS ${AK}:${signature}`,
          },
        });
        const response = new Promise<http.IncomingMessage>((resolve, reject) => {
          req.once('response', resolve);
          req.once('error', reject);
        });
        await sendFile(c.file, 0, req);
        const res = await response;
        res.resume();
        if (res.statusCode !== 200) throw new Error(`PUT answered ${res.statusCode}`);
      };
  }
}

async function roleVariant(config: VariantConfig): Promise<void> {
  const run = await prepareVariant(config);
  const setupRssMiB = process.memoryUsage().rss / MiB;
  let peak = process.memoryUsage();
  const sampler = setInterval(() => {
    if (process.memoryUsage.rss() > peak.rss) peak = process.memoryUsage(); // the breakdown only at a new peak
  }, 20);
  const cpu = process.cpuUsage();
  const mainCpu = cpuOf(process.pid, true);
  const t = performance.now();
  await run();
  const seconds = (performance.now() - t) / 1000;
  const used = process.cpuUsage(cpu);
  const mainCpuSeconds = cpuOf(process.pid, true) - mainCpu;
  clearInterval(sampler);
  if (process.env.BENCH_HEAP_SPACES) {
    const { getHeapSpaceStatistics } = await import('node:v8');
    const spaces = getHeapSpaceStatistics().map((x) => `${x.space_name} ${(x.space_size / MiB).toFixed(1)}`);
    console.error(`  [${config.variant}] heap spaces at end: ${spaces.join(', ')}`);
    const maps = readFileSync('/proc/self/smaps', 'utf8').split('\n');
    const rss = new Map<string, number>();
    let name = '';
    for (const line of maps) {
      const head = /^[0-9a-f]+-([0-9a-f]+)\s+\S+\s+\S+\s+\S+\s+\S+\s*(.*)$/.exec(line);
      if (head) name = head[2] || 'anon';
      const r = /^Rss:\s+(\d+) kB/.exec(line);
      if (r) rss.set(name, (rss.get(name) ?? 0) + Number(r[1]) / 1024);
    }
    const top = [...rss].sort((a, b) => b[1] - a[1]).slice(0, 6);
    console.error(
      `  [${config.variant}] rss by mapping: ${top.map(([k, v]) => `${path.basename(k)} ${v.toFixed(0)}`).join(', ')}`,
    );
  }
  let idleRssMiB: number | undefined;
  if (config.variant === 'engine-sparse' || config.variant === 'engine-4jobs') {
    // The budget gives its buffers up 1 s after the last one came back, and asks for a GC.
    await new Promise((r) => setTimeout(r, 2000));
    idleRssMiB = process.memoryUsage.rss() / MiB;
  }
  const result: VariantResult = {
    ...(idleRssMiB === undefined ? {} : { idleRssMiB, bytes: SPARSE_BYTES }),
    setupRssMiB,
    seconds,
    cpuSeconds: (used.user + used.system) / 1e6,
    mainCpuSeconds,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    atPeak: { heapTotalMiB: peak.heapTotal / MiB, arrayBuffersMiB: peak.arrayBuffers / MiB },
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// ---------- orchestrator ----------

/** Set by the orchestrator: the plain-JS copy of this file the children run. */
let childScript = '';

function spawnRole(args: string[], nodeArgs: string[] = []): { child: ChildProcess; line: Promise<string> } {
  const modules = Object.fromEntries(SPECIFIERS.map((s) => [s, import.meta.resolve(s)]));
  const child = spawn(process.execPath, [...nodeArgs, childScript, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, [MODULES_ENV]: JSON.stringify(modules) },
  });
  const line = new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    // The first JSON line: node flags such as --trace-gc print to stdout too.
    rl.on('line', (l) => {
      if (l.startsWith('{')) resolve(l);
      else if (process.env.BENCH_ECHO_CHILD_STDOUT) console.log(`  [${args[0]}] ${l}`);
    });
    child.once('exit', (code) => reject(new Error(`${args[0]} exited (${code}) without output`)));
  });
  line.catch(() => {});
  return { child, line };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  await exited;
}

/** Incompressible file, fast: one random 64 MiB block repeated; returns its CRC-64. */
async function makeFile(file: string): Promise<string> {
  const { crc64, crc64Combine } = await load<typeof import('@mediaferry/crc64')>('@mediaferry/crc64');
  const block = randomBytes(Math.min(64 * MiB, SIZE));
  const blockCrc = crc64(block);
  const fh = await open(file, 'w');
  let crc = 0n;
  try {
    for (let written = 0; written < SIZE; ) {
      const n = Math.min(block.length, SIZE - written);
      await fh.write(block, 0, n);
      crc = n === block.length ? crc64Combine(crc, blockCrc, n) : crc64(block.subarray(0, n), crc);
      written += n;
    }
  } finally {
    await fh.close();
  }
  return crc.toString();
}

/**
 * User + system CPU seconds of a process, or of its main thread only (the part of a Node process that
 * cannot spread over cores). Linux /proc; clock ticks are 100 Hz.
 */
function cpuOf(pid: number | undefined, mainThread = false): number {
  const file = mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`;
  if (pid === undefined || !existsSync(file)) return 0;
  const stat = readFileSync(file, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Waits until a process has used no CPU for 150 ms (e.g. the emulator unlinking a deleted 2 GiB object). */
async function settle(pid: number | undefined): Promise<void> {
  for (let i = 0, last = -1; i < 100; i++) {
    const now = cpuOf(pid);
    if (now === last) return;
    last = now;
    await new Promise((r) => setTimeout(r, 150));
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The issue-10 figures: peak RSS per engine variant, idle RSS after the 1 TiB cancel, CPU s/GiB vs ali-oss. */
function printMemoryFigures(results: Map<Variant, VariantResult[]>): void {
  const peak = (v: Variant) => {
    const rs = results.get(v);
    return rs?.length ? `${Math.max(...rs.map((r) => r.maxRssMiB)).toFixed(0)}` : 'n/a';
  };
  const cpuPerGib = (v: Variant) => {
    const rs = results.get(v);
    if (!rs?.length) return 'n/a';
    return (median(rs.map((r) => r.cpuSeconds)) / ((rs[0]!.bytes ?? SIZE) / 1024 ** 3)).toFixed(2);
  };
  const idle = results.get('engine-sparse')?.map((r) => r.idleRssMiB ?? 0) ?? [];
  const idle4 = results.get('engine-4jobs')?.map((r) => r.idleRssMiB ?? 0) ?? [];
  console.log(
    `memory: peak_rss_mib file_${SIZE / MiB}mib=${peak('engine-file')} file_buffered=${peak('engine-file-buffered')}` +
      ` url_${SIZE / MiB}mib=${peak('engine-url')}` +
      ` sparse_1tib=${peak('engine-sparse')} four_jobs=${peak('engine-4jobs')}` +
      ` idle_rss_after_1tib_cancel_mib=${idle.length ? Math.max(...idle).toFixed(0) : 'n/a'}` +
      ` idle_rss_after_4jobs_cancel_mib=${idle4.length ? Math.max(...idle4).toFixed(0) : 'n/a'}` +
      ` cpu_s_per_gib engine_file=${cpuPerGib('engine-file')} engine_file_buffered=${cpuPerGib('engine-file-buffered')}` +
      ` engine_url=${cpuPerGib('engine-url')} engine_sparse=${cpuPerGib('engine-sparse')}` +
      ` alioss_same=${cpuPerGib('alioss-same')} alioss_default=${cpuPerGib('alioss-default')}`,
  );
}

async function orchestrate(): Promise<void> {
  const { startRedisServer } = await load<typeof import('@mediaferry/testkit')>('@mediaferry/testkit');
  // Emulator data and spool files on tmpfs when there is one: this machine's disk writes ~100 MB/s,
  // which would cap every variant alike. The source file stays on a real filesystem (file sources
  // refuse pseudo filesystems) and is read from the page cache.
  const base = process.env.BENCH_DIR ?? (existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir());
  const dir = await mkdtemp(path.join(base, 'mf-bench-engine-'));
  const sourceDir = await mkdtemp(path.join(os.tmpdir(), 'mf-bench-engine-source-'));
  const children: ChildProcess[] = [];
  const redis = await startRedisServer();
  try {
    childScript = path.join(dir, 'engine-bench.mjs');
    await writeFile(childScript, stripTypeScriptTypes(readFileSync(SELF, 'utf8')));
    const file = path.join(sourceDir, 'source.mp4');
    const expectedCrc = await makeFile(file);
    const sparseFile = path.join(sourceDir, 'sparse-1tib.mp4');
    const sparse = await open(sparseFile, 'w');
    await sparse.truncate(SPARSE_SIZE);
    await sparse.close();
    // BENCH_EMULATOR_NODE_ARGS, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, profiles the emulator.
    const emulatorArgs = (process.env.BENCH_EMULATOR_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const emulator = spawnRole(['emulator', path.join(dir, 'emulator')], emulatorArgs);
    const source = spawnRole(['source', file]);
    children.push(emulator.child, source.child);
    const emu = JSON.parse(await emulator.line) as { url: string; port: number };
    const { url } = JSON.parse(await source.line) as { url: string };
    const oss = await aliOss({ ossUrl: emu.url } as VariantConfig);
    const results = new Map<Variant, VariantResult[]>(VARIANTS.map((v) => [v, []]));
    console.log(`engine bench: ${SIZE / MiB} MiB, ${ROUNDS} rounds, ${os.cpus().length} CPUs`);
    for (let round = 1; round <= ROUNDS; round++) {
      for (const variant of VARIANTS) {
        const key = `bench/${variant}-${round}.mp4`;
        const config: VariantConfig = {
          variant,
          file,
          sparseFile,
          url,
          ossUrl: emu.url,
          port: emu.port,
          key,
          redisUrl: redis.url,
          tmpDir: dir,
        };
        // BENCH_VARIANT_NODE_ARGS, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, profiles the variants.
        const nodeArgs = (process.env.BENCH_VARIANT_NODE_ARGS ?? '').split(' ').filter(Boolean);
        await settle(emulator.child.pid);
        const cpus = () => [
          cpuOf(emulator.child.pid),
          cpuOf(emulator.child.pid, true),
          cpuOf(source.child.pid),
        ];
        const before = cpus();
        const run = spawnRole(['variant', JSON.stringify(config)], nodeArgs);
        const result = JSON.parse(await run.line) as VariantResult;
        await new Promise((r) => run.child.once('exit', r));
        const [emuCpu, emuMainCpu, srcCpu] = cpus().map((c, i) => c - before[i]!) as [number, number, number];
        Object.assign(result, { emuCpu, emuMainCpu, srcCpu });
        if (variant !== 'download-alone' && result.bytes === undefined) {
          const head = await oss.head(key);
          const crc = (head.res.headers as Record<string, string>)['x-oss-hash-crc64ecma'];
          if (crc !== expectedCrc)
            throw new Error(`${variant}: object CRC-64 ${crc}, expected ${expectedCrc}`);
          await oss.delete(key);
        }
        results.get(variant)!.push(result);
        console.log(
          `  round ${round} ${variant.padEnd(15)} ${((result.bytes ?? SIZE) / 1e6 / result.seconds).toFixed(0).padStart(5)} MB/s` +
            `  cpu ${result.cpuSeconds.toFixed(1)} s (main ${result.mainCpuSeconds.toFixed(1)})` +
            `  rss ${result.maxRssMiB.toFixed(0)} MiB` +
            ` (${result.setupRssMiB.toFixed(0)} after setup; at peak heap ${result.atPeak.heapTotalMiB.toFixed(0)},` +
            ` buffers ${result.atPeak.arrayBuffersMiB.toFixed(0)})` +
            `  (emulator cpu ${emuCpu.toFixed(1)} s, main thread ${emuMainCpu.toFixed(1)} s;` +
            ` url server cpu ${srcCpu.toFixed(1)} s)` +
            (result.idleRssMiB === undefined
              ? ''
              : `  idle rss after cancel ${result.idleRssMiB.toFixed(0)} MiB`),
        );
      }
    }
    const bytesOf = (v: Variant) => results.get(v)![0]?.bytes ?? SIZE;
    const t = (v: Variant) => median(results.get(v)!.map((r) => r.seconds));
    // CPU per GiB (medians): the variant's own process, the emulator (and its main thread), the URL server.
    console.log(
      '\nvariant          MB/s   CPU s/GiB  peak RSS MiB   emulator s/GiB (main)   url server s/GiB',
    );
    for (const v of VARIANTS) {
      const rs = results.get(v)!;
      const gib = bytesOf(v) / 1024 ** 3;
      const perGib = (f: (r: VariantResult) => number) => (median(rs.map(f)) / gib).toFixed(2);
      const rss = Math.max(...rs.map((r) => r.maxRssMiB));
      console.log(
        `${v.padEnd(15)} ${(bytesOf(v) / 1e6 / t(v)).toFixed(0).padStart(5)}  ${perGib((r) => r.cpuSeconds).padStart(9)}` +
          `  ${rss.toFixed(0).padStart(12)}   ${perGib((r) => r.emuCpu ?? 0).padStart(14)}` +
          ` (${perGib((r) => r.emuMainCpu ?? 0)})   ${perGib((r) => r.srcCpu ?? 0).padStart(16)}`,
      );
    }
    printMemoryFigures(results);
    if (VARIANTS.length !== ALL_VARIANTS.length) return;
    const peak = Math.max(
      ...[...results.get('engine-file')!, ...results.get('engine-url')!].map((r) => r.maxRssMiB),
    );
    const fmt = (x: number) => x.toFixed(2);
    console.log(
      `engine_vs_alioss_default=${fmt(t('alioss-default') / t('engine-file'))}` +
        ` engine_vs_alioss_same=${fmt(t('alioss-same') / t('engine-file'))}` +
        ` engine_vs_ceiling=${fmt(t('put-ceiling') / t('engine-file'))}` +
        ` engine_peak_rss_mib=${peak.toFixed(0)}` +
        ` url_overlap=${fmt(t('engine-url') / Math.max(t('download-alone'), t('engine-file')))}` +
        ` url_vs_spool=${fmt(t('spool-alioss') / t('engine-url'))}`,
    );
  } finally {
    for (const c of children) await stop(c);
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
    await rm(sourceDir, { recursive: true, force: true });
  }
}

const role = process.argv[2];
if (role === 'emulator') await roleEmulator(process.argv[3]!);
else if (role === 'source') await roleSource(process.argv[3]!);
else if (role === 'variant') await roleVariant(JSON.parse(process.argv[3]!) as VariantConfig);
else await orchestrate();
