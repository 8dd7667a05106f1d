/**
 * Throughput of every CRC-64 kernel that loads here, over 256 MiB of random data fed in 64 KiB, 1 MiB and
 * 8 MiB chunks (what the upload engine and the emulator pass), plus the cost of one crc64Combine call.
 *
 *   pnpm -F @mediaferry/crc64 build && node packages/crc64/src/crc64.bench.ts
 *
 * Runs against dist/ (Node's type stripping cannot follow the sources' `.js` imports). Best of 3 runs.
 */
import { randomFillSync } from 'node:crypto';
import type * as CombineModule from './crc64-combine.js';
import type * as JsModule from './crc64-js.js';
import type * as ImplModule from './implementations.js';

const dist = (file: string) => new URL(`../dist/${file}`, import.meta.url).href;
const { crc64Implementations, nativeLoadError } = (await import(
  dist('implementations.js')
)) as typeof ImplModule;
const { crc64JsBytewise } = (await import(dist('crc64-js.js'))) as typeof JsModule;
const { crc64Combine } = (await import(dist('crc64-combine.js'))) as typeof CombineModule;

const TOTAL = 256 * 1024 * 1024;
const CHUNKS = [64 * 1024, 1024 * 1024, 8 * 1024 * 1024];
const RUNS = 3;

const data = new Uint8Array(TOTAL);
for (let off = 0; off < TOTAL; off += 65_536) randomFillSync(data, off, 65_536);

function measure(fn: (d: Uint8Array, c: bigint) => bigint, chunk: number): { mbps: number; crc: bigint } {
  let best = Number.POSITIVE_INFINITY;
  let crc = 0n;
  for (let run = 0; run < RUNS; run++) {
    const t0 = performance.now();
    crc = 0n;
    for (let off = 0; off < TOTAL; off += chunk) crc = fn(data.subarray(off, off + chunk), crc);
    best = Math.min(best, performance.now() - t0);
  }
  return { mbps: TOTAL / 1e6 / (best / 1e3), crc };
}

if (nativeLoadError) console.log(`native addon not loaded: ${nativeLoadError.message}`);
console.log(`CRC-64/XZ over ${TOTAL / 2 ** 20} MiB, best of ${RUNS}, MB/s (10^6 bytes/s)`);
console.log(['kernel'.padEnd(16), ...CHUNKS.map((c) => `${c / 1024} KiB`.padStart(10))].join(''));

const kernels = { ...crc64Implementations, 'js-bytewise (old)': crc64JsBytewise };
const results = new Set<bigint>();
for (const [name, fn] of Object.entries(kernels)) {
  if (!fn) continue;
  const row = [name.padEnd(16)];
  for (const chunk of CHUNKS) {
    const { mbps, crc } = measure(fn, chunk);
    results.add(crc);
    row.push(mbps.toFixed(0).padStart(10));
  }
  console.log(row.join(''));
}
if (results.size !== 1) throw new Error(`kernels disagree: ${[...results].join(', ')}`);

const calls = 20_000;
const t0 = performance.now();
let acc = 0n;
for (let i = 0; i < calls; i++)
  acc = crc64Combine(acc, BigInt.asUintN(64, BigInt(i) * 0x9e3779b97f4a7c15n), 8 * 1024 * 1024 + i);
const us = ((performance.now() - t0) * 1000) / calls;
console.log(`crc64Combine (len2 ≈ 8 MiB): ${us.toFixed(1)} µs per call`);
