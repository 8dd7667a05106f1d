/**
 * Starts the whole system on the built-in emulator and runs sample uploads:
 * Redis (unless one answers at REDIS_URL), the emulator, the API, two workers and the metrics service;
 * then submits a generated local video file and the same bytes as a locally served URL, and prints the
 * jobs as they complete with their media ids. Keeps running until Ctrl-C unless `--exit` is given.
 * Run through `bash scripts/demo.sh` (which installs and builds first).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const exitWhenDone = process.argv.includes('--exit');
const work = path.join(root, '.demo');
const mediaDir = path.join(work, 'media');
mkdirSync(mediaDir, { recursive: true });
const children: ChildProcess[] = [];
const token = 'demo-token';

function log(msg: string) {
  process.stdout.write(`[demo] ${msg}\n`);
}

async function portFree(port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}
async function freePort(): Promise<number> {
  return await new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
async function pickPort(preferred: number): Promise<number> {
  return (await portFree(preferred)) ? preferred : await freePort();
}
async function redisAnswers(url: string): Promise<boolean> {
  const u = new URL(url);
  return await new Promise((resolve) => {
    const socket = net.connect(Number(u.port || 6379), u.hostname);
    socket.setTimeout(1000);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => {
      socket.destroy();
      resolve(String(d).startsWith('+PONG') || String(d).startsWith('-NOAUTH'));
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}
async function waitHttp(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {}
    if (Date.now() > deadline) throw new Error(`${url} did not come up within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function waitTcp(port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (await portFree(port)) {
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function start(name: string, args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = `[${name}] `;
  const forward = (stream: NodeJS.ReadableStream, out: NodeJS.WriteStream) => {
    let buf = '';
    stream.on('data', (d) => {
      buf += String(d);
      let i = buf.indexOf('\n');
      while (i >= 0) {
        if (process.env.DEMO_VERBOSE === '1' || out === process.stderr)
          out.write(prefix + buf.slice(0, i) + '\n');
        buf = buf.slice(i + 1);
        i = buf.indexOf('\n');
      }
    });
  };
  forward(child.stdout!, process.stdout);
  forward(child.stderr!, process.stderr);
  child.on('exit', (code, signal) => {
    if (!shuttingDown) log(`${name} exited (${code ?? signal})`);
  });
  children.push(child);
  return child;
}

let shuttingDown = false;
async function shutdown(code: number): Promise<never> {
  shuttingDown = true;
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(
    children.map((c) =>
      c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once('exit', r)),
    ),
  );
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

async function main() {
  for (const app of ['emulator', 'api', 'worker', 'metrics']) {
    if (!existsSync(path.join(root, 'apps', app, 'dist', 'main.js')))
      throw new Error(`apps/${app} is not built: run pnpm build`);
  }
  // Redis: use one that answers, else start a private one (the binary comes from Debian's redis-server).
  let redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (!(await redisAnswers(redisUrl))) {
    const port = await freePort();
    const redisDir = path.join(work, 'redis');
    mkdirSync(redisDir, { recursive: true });
    const redis = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', redisDir, '--appendonly', 'yes', '--save', ''],
      {
        stdio: 'ignore',
      },
    );
    redis.on('error', () => {
      process.stderr.write(
        'redis-server was not found: install it (Debian: apt-get install redis-server) or set REDIS_URL\n',
      );
      process.exit(1);
    });
    children.push(redis);
    redisUrl = `redis://127.0.0.1:${port}`;
    const deadline = Date.now() + 10_000;
    while (!(await redisAnswers(redisUrl))) {
      if (Date.now() > deadline) throw new Error('redis-server did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    log(`started redis-server on ${redisUrl}`);
  } else log(`using the Redis at ${redisUrl}`);

  const emulatorPort = await pickPort(9000);
  const apiPort = await pickPort(8080);
  const metricsPort = await pickPort(9465);
  const workerPorts = [await pickPort(9464), await freePort()];
  const env: Record<string, string> = {
    REDIS_URL: redisUrl,
    MEDIAFERRY_REDIS_PREFIX: 'mediaferry-demo',
    MEDIAFERRY_API_TOKENS: `demo:${token}`,
    MEDIAFERRY_WEBHOOK_SECRETS: 'demo:demo-webhook-secret',
    MEDIAFERRY_FILE_ROOTS: mediaDir,
    // The sample URL is served from this machine, so the demo allows private addresses.
    MEDIAFERRY_URL_ALLOW_PRIVATE: 'true',
    VOD_ENDPOINT: `http://127.0.0.1:${emulatorPort}`,
    EMULATOR_PORT: String(emulatorPort),
    EMULATOR_DATA_DIR: path.join(work, 'emulator'),
    API_PORT: String(apiPort),
    METRICS_PORT: String(metricsPort),
    BIND_HOST: '127.0.0.1',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    // Client uploads: the emulator (as VOD) posts its signed upload events to the API.
    MEDIAFERRY_VOD_CALLBACK_URL: `http://127.0.0.1:${apiPort}/v1/vod/events`,
    EMULATOR_VOD_CALLBACK_URL: `http://127.0.0.1:${apiPort}/v1/vod/events`,
    EMULATOR_CALLBACK_PRIVATE_KEY: 'demo-vod-callback-key',
    MEDIAFERRY_VOD_CALLBACK_KEYS: 'demo-vod-callback-key',
  };
  start('emulator', ['apps/emulator/dist/main.js'], env);
  await waitTcp(emulatorPort);
  start('api', ['apps/api/dist/main.js'], env);
  for (const [i, p] of workerPorts.entries()) {
    start(`worker-${i + 1}`, ['apps/worker/dist/main.js'], { ...env, WORKER_METRICS_PORT: String(p) });
  }
  start('metrics', ['apps/metrics/dist/main.js'], env);
  await Promise.all([
    waitHttp(`http://127.0.0.1:${apiPort}/readyz`),
    ...workerPorts.map((p) => waitHttp(`http://127.0.0.1:${p}/healthz`)),
    waitHttp(`http://127.0.0.1:${metricsPort}/healthz`),
  ]);
  log(
    `emulator http://127.0.0.1:${emulatorPort}  api http://127.0.0.1:${apiPort}  metrics :${metricsPort}  workers :${workerPorts.join(', :')}`,
  );

  // A sample "video": 24 MiB of generated bytes with an .mp4 name (the emulator stores bytes, it does not transcode).
  const samplePath = path.join(mediaDir, 'sample-video.mp4');
  if (!existsSync(samplePath) || statSync(samplePath).size !== 24 * 1024 * 1024) {
    const block = randomBytes(1024 * 1024);
    writeFileSync(samplePath, Buffer.concat(Array.from({ length: 24 }, () => block)));
  }
  const server = http.createServer((req, res) => {
    const size = statSync(samplePath).size;
    res.setHeader('content-type', 'video/mp4');
    res.setHeader('content-length', size);
    res.setHeader('accept-ranges', 'bytes');
    if (req.method === 'HEAD') return res.end();
    createReadStream(samplePath).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const urlPort = (server.address() as net.AddressInfo).port;

  const api = `http://127.0.0.1:${apiPort}`;
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const specs = [
    { source: { type: 'file', path: samplePath }, media: { type: 'video', title: 'Demo: local file' } },
    {
      source: { type: 'url', url: `http://127.0.0.1:${urlPort}/sample-video.mp4` },
      media: { type: 'video', title: 'Demo: URL' },
    },
  ];
  const ids: string[] = [];
  for (const spec of specs) {
    const res = await fetch(`${api}/v1/jobs`, { method: 'POST', headers, body: JSON.stringify(spec) });
    const body = (await res.json()) as { id?: string; error?: unknown };
    if (!res.ok || !body.id) throw new Error(`submit failed (${res.status}): ${JSON.stringify(body)}`);
    log(`submitted ${body.id} (${spec.media.title})`);
    ids.push(body.id);
  }
  const done = new Set<string>();
  let failed = false;
  const deadline = Date.now() + 10 * 60_000;
  while (done.size < ids.length) {
    if (Date.now() > deadline) throw new Error('sample jobs did not finish in 10 minutes');
    for (const id of ids) {
      if (done.has(id)) continue;
      const job = (await (await fetch(`${api}/v1/jobs/${id}`, { headers })).json()) as {
        status: string;
        progress: { percent: number | null };
        result: { mediaId: string; objectKey: string; size: number; crc64: string } | null;
        error: { code: string; message: string } | null;
      };
      if (job.status === 'succeeded') {
        done.add(id);
        log(
          `${id} succeeded: mediaId=${job.result?.mediaId} object=${job.result?.objectKey} size=${job.result?.size} crc64=${job.result?.crc64}`,
        );
      } else if (job.status === 'failed' || job.status === 'canceled') {
        done.add(id);
        failed = true;
        log(`${id} ${job.status}: ${job.error?.code} ${job.error?.message}`);
      } else log(`${id} ${job.status} ${job.progress.percent ?? '?'}%`);
    }
    if (done.size < ids.length) await new Promise((r) => setTimeout(r, 1000));
  }
  server.close();

  // A client upload: the CLI plays a web/mobile client (create, ali-oss with only the handed-out
  // credential, wait until VOD's event completes it).
  const clientFile = path.join(mediaDir, 'from-a-phone.mp4');
  writeFileSync(clientFile, randomBytes(3 * 1024 * 1024));
  const cli = spawn(
    process.execPath,
    ['apps/cli/dist/main.js', 'client-upload', 'send', clientFile, '--end-user', 'demo-user'],
    {
      env: { ...process.env, MEDIAFERRY_URL: api, MEDIAFERRY_TOKEN: token },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let cliOut = '';
  let cliErr = '';
  cli.stdout?.on('data', (d: Buffer) => {
    cliOut += d.toString();
  });
  cli.stderr?.on('data', (d: Buffer) => {
    cliErr += d.toString();
  });
  const cliCode = await new Promise<number | null>((resolve) => cli.on('close', resolve));
  try {
    const cu = JSON.parse(cliOut) as {
      id: string;
      status: string;
      mediaId: string;
      result: { size: number } | null;
    };
    log(`client upload ${cu.id} ${cu.status}: mediaId=${cu.mediaId} size=${cu.result?.size}`);
    if (cu.status !== 'completed' || cliCode !== 0) failed = true;
  } catch {
    log(`client upload failed (exit ${cliCode}): ${cliErr.trim()}`);
    failed = true;
  }
  if (exitWhenDone || failed) await shutdown(failed ? 1 : 0);
  log(
    `all sample jobs done. Try: MEDIAFERRY_URL=${api} MEDIAFERRY_TOKEN=${token} node apps/cli/dist/main.js upload ${samplePath} --title Mine --wait`,
  );
  log(
    `client uploads: MEDIAFERRY_URL=${api} MEDIAFERRY_TOKEN=${token} node apps/cli/dist/main.js client-upload send <file>`,
  );
  log(`queue UI: ${api}/admin/queues (Bearer ${token}); Ctrl-C stops everything`);
}

main().catch(async (err) => {
  process.stderr.write(`[demo] ${err instanceof Error ? err.message : String(err)}\n`);
  await shutdown(1);
});
