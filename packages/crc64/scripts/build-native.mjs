#!/usr/bin/env node
// Builds the optional Node-API addon build/Release/crc64.node from native/crc64.c with the system C
// compiler and the Node-API headers of the `node-api-headers` npm package: no node-gyp, no header download,
// no prebuilt binary. Node-API is ABI-stable, so the result loads in any Node with Node-API ≥ 6.
//
// A failed build is a warning (the package falls back to its JS implementation) unless CI=true or
// MEDIAFERRY_CRC64_REQUIRE_NATIVE=1, where it fails the build. CC overrides the compiler (default `cc`).
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'build', 'Release');
const out = join(outDir, 'crc64.node');
const required = process.env.CI === 'true' || process.env.MEDIAFERRY_CRC64_REQUIRE_NATIVE === '1';

function fail(message) {
  rmSync(out, { force: true }); // never leave an older addon behind a failed build
  if (required) {
    console.error(`crc64 native build failed: ${message}`);
    process.exit(1);
  }
  console.warn(`crc64 native build skipped (the JS implementation will be used): ${message}`);
  process.exit(0);
}

if (process.platform === 'win32') fail('Windows is not supported by this build script');

let includeDir;
try {
  includeDir = createRequire(import.meta.url)('node-api-headers').include_dir;
} catch (err) {
  fail(`node-api-headers is not installed (${err.message})`);
}

// Up to date when newer than everything it is made from (the test script calls this before every run).
const source = join(root, 'native', 'crc64.c');
const mtime = (path) => statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? Number.NaN;
const inputs = [source, fileURLToPath(import.meta.url), join(includeDir, 'node_api.h')];
if (inputs.every((input) => mtime(input) < mtime(out))) {
  console.log(`crc64 native addon is up to date: ${out}`);
  process.exit(0);
}

const cc = process.env.CC || 'cc';
const tmp = `${out}.${process.pid}.tmp`;
const args = [
  '-O3',
  '-std=c11',
  '-fPIC',
  '-shared',
  '-pthread',
  '-fvisibility=hidden',
  '-Wall',
  '-Wextra',
  '-DNAPI_VERSION=6',
  `-I${includeDir}`,
  ...(process.platform === 'darwin' ? ['-undefined', 'dynamic_lookup'] : []),
  '-o',
  tmp,
  source,
];
mkdirSync(outDir, { recursive: true });
const result = spawnSync(cc, args, { stdio: 'inherit' });
if (result.error || result.status !== 0) {
  rmSync(tmp, { force: true });
  fail(result.error ? `${cc}: ${result.error.message}` : `${cc} exited with ${result.status}`);
}

// Smoke test before publishing the file: it must load here, produce the CRC-64/XZ check value, and its
// fast kernel must agree with its table kernel past the 64-byte folding threshold.
try {
  const mod = { exports: {} };
  process.dlopen(mod, tmp);
  const check = mod.exports.crc64(new TextEncoder().encode('123456789'), 0n);
  if (check !== 11051210869376104954n) throw new Error(`check value ${check} is wrong`);
  const data = Uint8Array.from({ length: 4099 }, (_, i) => (i * 2654435761) >>> 24);
  if (mod.exports.crc64(data, 0n) !== mod.exports.crc64Table(data, 0n)) {
    throw new Error(`the ${mod.exports.kernel} kernel disagrees with the table kernel`);
  }
  renameSync(tmp, out); // atomic: a test loading the addon never sees a half-written file
  console.log(`crc64 native addon built: ${out} (kernel: ${mod.exports.kernel})`);
} catch (err) {
  rmSync(tmp, { force: true });
  fail(`the built addon does not work: ${err.message}`);
}
