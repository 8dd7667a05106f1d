/**
 * How much does `uploadPart` cost over a raw HTTP PUT of the same bytes? Both send N parts of 8 MiB,
 * one at a time, to a sink server in a worker thread (its own event loop) that reads and discards the
 * body. Run after `pnpm -F @mediaferry/aliyun build`:
 *   node packages/aliyun/bench/upload-part.bench.ts [parts=32] [partMiB=8] [bodyChunkKiB=default]
 */
import http from 'node:http';
import { Worker } from 'node:worker_threads';
import { createAccountOssClient, OssMultipartObject } from '../dist/index.js';

const parts = Number(process.argv[2] ?? 32);
const partBytes = Number(process.argv[3] ?? 8) * 1024 * 1024;
const bodyChunkBytes = process.argv[4] ? Number(process.argv[4]) * 1024 : undefined;

const sinkSource = `
const http = require('node:http');
const { parentPort } = require('node:worker_threads');
const server = http.createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => { res.writeHead(200, { etag: '"0123456789ABCDEF0123456789ABCDEF"' }); res.end(); });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
`;

async function main(): Promise<void> {
  const worker = new Worker(sinkSource, { eval: true });
  const port = await new Promise<number>((resolve) => worker.once('message', resolve));
  const body = new Uint8Array(partBytes);
  for (let i = 0; i < body.length; i += 4096) body[i] = i & 0xff;
  const agent = new http.Agent({ keepAlive: true });

  const rawPut = () =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'PUT',
          path: '/k',
          agent,
          headers: { 'content-length': body.length },
        },
        (res) => {
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  const handle = createAccountOssClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'cn-shanghai',
    bucket: 'bench-bucket',
    accessKeyId: 'ak',
    accessKeySecret: 'sk',
  });
  const object = new OssMultipartObject(
    { acquire: async () => ({ handle, generation: 1 }) },
    'bench/object.mp4',
    bodyChunkBytes ? { bodyChunkBytes } : {},
  );

  const run = async (label: string, once: (n: number) => Promise<unknown>) => {
    await once(0); // warm-up: connection, JIT
    const started = process.hrtime.bigint();
    for (let n = 1; n <= parts; n++) await once(n);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const mibPerSecond = (parts * partBytes) / 1024 / 1024 / seconds;
    console.log(`${label.padEnd(28)} ${mibPerSecond.toFixed(0).padStart(6)} MiB/s`);
    return mibPerSecond;
  };

  const results: Record<string, number[]> = { raw: [], part: [] };
  for (let round = 0; round < 3; round++) {
    results.raw?.push(await run('raw http PUT', () => rawPut()));
    results.part?.push(
      await run('OssMultipartObject.uploadPart', (n) => object.uploadPart('UPLOAD', n + 1, body)),
    );
  }
  const best = (xs: number[] = []) => Math.max(...xs);
  console.log(`uploadPart / raw (best of 3): ${(best(results.part) / best(results.raw)).toFixed(2)}`);
  agent.destroy();
  await worker.terminate();
}

await main();
