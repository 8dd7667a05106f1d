/**
 * Emulator throughput: a 2 GiB file uploaded with the real ali-oss multipartUpload (8 MiB parts,
 * parallel 4) using VOD upload credentials, against the built emulator running as its own process.
 * Prints MB/s, the emulator's peak RSS (VmHWM) and its CPU seconds per GiB, and checks the object's
 * CRC-64. Asserts no time. Run: `pnpm -F @mediaferry/emulator build && node test/bench/emulator-upload.bench.ts`
 * (or `pnpm bench:emulator`). Env: BENCH_SIZE_MIB (default 2048), BENCH_PART_MIB (8), BENCH_PARALLEL (4),
 * BENCH_EMULATOR_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile the emulator).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { crc64, crc64Combine } from '@mediaferry/crc64';
import OSS from 'ali-oss';

const MiB = 1024 * 1024;
const SIZE = Number(process.env.BENCH_SIZE_MIB ?? 2048) * MiB;
const PART_SIZE = Number(process.env.BENCH_PART_MIB ?? 8) * MiB;
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 4);
const BLOCK = 64 * MiB;
const REPO = path.resolve(import.meta.dirname, '../..');
const ENTRY = path.join(REPO, 'apps/emulator/dist/main.js');
const ACCESS_KEY_ID = 'bench-access-key-id';
const ACCESS_KEY_SECRET = 'bench-access-key-secret';

interface Endpoints {
  url: string;
  vodEndpoint: string;
  vodBucket: string;
  pid: number;
}

/** Writes `size` bytes of incompressible data fast: one random block repeated. Returns the file CRC. */
async function makeFile(file: string, size: number): Promise<bigint> {
  const block = randomBytes(Math.min(BLOCK, size));
  const blockCrc = crc64(block);
  const fh = await open(file, 'w');
  let crc = 0n;
  try {
    for (let written = 0; written < size; ) {
      const n = Math.min(block.length, size - written);
      await fh.write(block, 0, n);
      crc = n === block.length ? crc64Combine(crc, blockCrc, n) : crc64(block.subarray(0, n), crc);
      written += n;
    }
  } finally {
    await fh.close();
  }
  return crc;
}

async function startEmulator(dataDir: string): Promise<{ child: ChildProcess; endpoints: Endpoints }> {
  if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run \`pnpm -F @mediaferry/emulator build\``);
  const nodeArgs = (process.env.BENCH_EMULATOR_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, ENTRY], {
    env: {
      PATH: process.env.PATH ?? '',
      EMULATOR_PORT: '0',
      BIND_HOST: '127.0.0.1',
      EMULATOR_DATA_DIR: dataDir,
      EMULATOR_ACCESS_KEY_ID: ACCESS_KEY_ID,
      EMULATOR_ACCESS_KEY_SECRET: ACCESS_KEY_SECRET,
      EMULATOR_ADMIN_TOKEN: randomBytes(16).toString('hex'),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (l) => {
      rl.close();
      resolve(l);
    });
    child.once('exit', (code) => reject(new Error(`emulator exited early (${code})`)));
  });
  return { child, endpoints: JSON.parse(line) as Endpoints };
}

const strict = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** One VOD RPC call signed with RPC v1 (HMAC-SHA1), form-encoded as pop-core sends it. */
async function vodCall(endpoint: string, action: string, params: Record<string, string>) {
  const all: Record<string, string> = {
    Action: action,
    Version: '2017-03-21',
    Format: 'JSON',
    AccessKeyId: ACCESS_KEY_ID,
    SignatureMethod: 'HMAC-SHA1',
    SignatureVersion: '1.0',
    SignatureNonce: randomUUID(),
    Timestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    ...params,
  };
  const canonical = Object.keys(all)
    .sort()
    .map((k) => `${strict(k)}=${strict(all[k]!)}`)
    .join('&');
  const signature = createHmac('sha1', `${ACCESS_KEY_SECRET}&`)
    .update(`POST&%2F&${strict(canonical)}`)
    .digest('base64');
  const res = await fetch(`http://${endpoint}/`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      'x-acs-action': action,
      'x-acs-version': '2017-03-21',
    },
    body: `${canonical}&Signature=${strict(signature)}`,
  });
  const body = (await res.json()) as Record<string, string>;
  if (!res.ok) throw new Error(`${action} failed: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** [VmHWM bytes, VmRSS bytes] of a process. */
function memory(pid: number): [number, number] {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return [kib('VmHWM'), kib('VmRSS')];
}

/** [user, system] CPU seconds of a process (/proc/<pid>/stat fields 14, 15; clock ticks are 100 Hz on Linux). */
function cpuSeconds(pid: number): [number, number] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [Number(fields[11]) / 100, Number(fields[12]) / 100];
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mf-bench-emulator-'));
  let child: ChildProcess | undefined;
  try {
    const file = path.join(dir, 'source.bin');
    let t = performance.now();
    const expectedCrc = await makeFile(file, SIZE);
    console.log(
      `source: ${(SIZE / MiB).toFixed(0)} MiB written in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );

    const started = await startEmulator(path.join(dir, 'emulator'));
    child = started.child;
    const { endpoints } = started;
    const pid = endpoints.pid;
    const [, rssIdle] = memory(pid);

    const created = await vodCall(endpoints.vodEndpoint, 'CreateUploadVideo', {
      Title: 'bench',
      FileName: 'bench.mp4',
      FileSize: String(SIZE),
    });
    const address = JSON.parse(Buffer.from(created.UploadAddress!, 'base64').toString());
    const auth = JSON.parse(Buffer.from(created.UploadAuth!, 'base64').toString());
    const credentials = {
      accessKeyId: auth.AccessKeyId,
      accessKeySecret: auth.AccessKeySecret,
      stsToken: auth.SecurityToken,
    };
    const oss = new OSS({
      endpoint: address.Endpoint,
      bucket: address.Bucket,
      region: `oss-${auth.Region}`,
      ...credentials,
      refreshSTSToken: async () => credentials,
      refreshSTSTokenInterval: 3_600_000,
      // V4, as mediaferry signs: the baseline pays the same signing cost.
      authorizationV4: true,
      timeout: 600_000,
    });

    const [userBefore, sysBefore] = cpuSeconds(pid);
    t = performance.now();
    await oss.multipartUpload(address.FileName, file, { partSize: PART_SIZE, parallel: PARALLEL });
    const seconds = (performance.now() - t) / 1000;
    const [userAfter, sysAfter] = cpuSeconds(pid);
    const user = userAfter - userBefore;
    const sys = sysAfter - sysBefore;
    const cpu = user + sys;
    const [hwm] = memory(pid);

    const head = await oss.head(address.FileName);
    const gotCrc = (head.res.headers as Record<string, string>)['x-oss-hash-crc64ecma'];
    const info = await vodCall(endpoints.vodEndpoint, 'GetVideoInfo', { VideoId: created.VideoId! });
    const status = (info as unknown as { Video: { Status: string } }).Video.Status;

    const gib = SIZE / 1024 ** 3;
    console.log(`upload: ${(SIZE / MiB).toFixed(0)} MiB, ${PART_SIZE / MiB} MiB parts, parallel ${PARALLEL}`);
    console.log(`  throughput      ${(SIZE / 1e6 / seconds).toFixed(1)} MB/s (${seconds.toFixed(1)} s)`);
    console.log(
      `  emulator RSS    idle ${(rssIdle / MiB).toFixed(0)} MiB, peak (VmHWM) ${(hwm / MiB).toFixed(0)} MiB`,
    );
    console.log(
      `  emulator CPU    ${(cpu / gib).toFixed(2)} s per GiB (${cpu.toFixed(1)} s: user ${user.toFixed(1)}, system ${sys.toFixed(1)})`,
    );
    console.log(`  crc64           ${gotCrc === expectedCrc.toString() ? 'OK' : 'MISMATCH'} (${gotCrc})`);
    console.log(`  media status    ${status}`);
    if (gotCrc !== expectedCrc.toString()) {
      console.error(`expected crc64 ${expectedCrc}, emulator reports ${gotCrc}`);
      process.exitCode = 1;
    }
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      const code = await exited;
      if (code !== 0) {
        console.error(`emulator exited with ${code} on SIGTERM`);
        process.exitCode = 1;
      }
    }
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
