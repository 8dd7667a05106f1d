import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pino from 'pino';
import { loadEmulatorConfigOrExit } from './config/emulator-config.js';
import { startEmulator } from './emulator.js';

/**
 * `node apps/emulator/dist/main.js`: the emulator as a process, configured by the environment
 * (its own EMULATOR_* variables, see config/emulator-config.ts). Prints one JSON line with its endpoints (never a secret) on stdout; logs go to stderr.
 * When EMULATOR_ADMIN_TOKEN is unset a random token is written to `<dataDir>/admin-token` (mode 0600).
 */
async function main(): Promise<void> {
  const e = loadEmulatorConfigOrExit(process.env);
  const logger = pino({ level: e.logLevel, name: 'emulator' }, pino.destination(2));
  let adminTokenFile: string | undefined;
  const adminToken = e.adminToken ?? randomBytes(16).toString('hex');
  if (e.adminToken === undefined) {
    await mkdir(e.dataDir, { recursive: true });
    adminTokenFile = path.join(e.dataDir, 'admin-token');
    await writeFile(adminTokenFile, `${adminToken}\n`, { mode: 0o600 });
  }
  const emulator = await startEmulator({
    port: e.port,
    host: e.bindHost,
    dataDir: e.dataDir,
    accessKeyId: e.accessKeyId,
    accessKeySecret: e.accessKeySecret,
    credentialTtlSeconds: e.credentialTtlSeconds,
    callbackPrivateKey: e.callbackPrivateKey,
    vodCallbackUrl: e.vodCallbackUrl,
    region: e.region,
    buckets: [...e.buckets],
    ossSignatures: e.ossSignatures,
    createReferenceId: e.createReferenceId,
    adminToken,
    logger,
  });
  process.stdout.write(
    `${JSON.stringify({
      msg: 'mediaferry emulator listening',
      url: emulator.url,
      vodEndpoint: emulator.vodEndpoint,
      ossEndpoint: emulator.ossEndpoint,
      vodBucket: emulator.vodBucket,
      buckets: emulator.buckets,
      region: emulator.region,
      ossSignatures: emulator.ossSignatures,
      accessKeyId: emulator.accessKeyId,
      dataDir: emulator.dataDir,
      ...(adminTokenFile ? { adminTokenFile } : {}),
      pid: process.pid,
    })}\n`,
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'emulator: shutting down');
    emulator.close().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'emulator: shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  process.stderr.write(`emulator: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
