import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { EmulatorAdminClient } from './admin/admin-client.js';
import { RequestLog } from './admin/request-log.js';
import { OssAuthenticator, type OssSignatureMode } from './auth/oss-authenticator.js';
import { VodAuthenticator } from './auth/vod-authenticator.js';
import { CallbackSender } from './callbacks/callback-sender.js';
import { FaultInjector } from './faults/fault-injector.js';
import { type EmulatorOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { encodeState, loadState, lockDataDir, STATE_FILE } from './persistence/emulator-state.js';
import { SnapshotWriter } from './persistence/snapshot-file.js';
import { createEmulatorServer } from './server.js';
import { ObjectStore } from './storage/object-store.js';
import { CredentialStore } from './sts/credential-store.js';
import { YoungGarbageCollector } from './util/young-gc.js';
import { MediaStore } from './vod/media-store.js';
import { onObjectCompleted, type VodDeps } from './vod/vod-actions.js';

export interface Emulator {
  /** `http://127.0.0.1:PORT` (the OSS endpoint and the admin API base). */
  readonly url: string;
  readonly port: number;
  /** `127.0.0.1:PORT`, the `endpoint` for @alicloud/openapi-core (with `protocol: 'http'`). */
  readonly vodEndpoint: string;
  /** `http://127.0.0.1:PORT`, the ali-oss `endpoint` (an IP, so ali-oss sends the bucket Host header). */
  readonly ossEndpoint: string;
  /** The VOD storage bucket (`outin-<32 hex>`) every Create* upload address points at. */
  readonly vodBucket: string;
  /** Plain OSS buckets that exist. */
  readonly buckets: readonly string[];
  readonly region: string;
  /** Which OSS signatures it accepts (`v1-and-v4` or `v4-only`). */
  readonly ossSignatures: OssSignatureMode;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly adminToken: string;
  readonly dataDir: string;
  readonly admin: EmulatorAdminClient;
  /**
   * Stops the server, drops connections, waits for callbacks to stop; saves the state into a dataDir it
   * was given, removes a temp one. Idempotent.
   */
  close(): Promise<void>;
}

/** Starts a VOD + OSS emulator on one port; resolves once it listens. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const o = resolveOptions(options);
  const ownsDataDir = o.dataDir === undefined;
  const dataDir = o.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'mf-emulator-')));
  // A data dir the caller gave keeps the state across restarts; a temp one dies with the emulator.
  let unlock: (() => Promise<void>) | undefined;
  if (!ownsDataDir) {
    await mkdir(dataDir, { recursive: true });
    unlock = await lockDataDir(dataDir);
  }
  try {
    return await start(o, options, dataDir, ownsDataDir, unlock);
  } catch (err) {
    await unlock?.();
    throw err;
  }
}

async function start(
  o: ResolvedOptions,
  options: EmulatorOptions,
  dataDir: string,
  ownsDataDir: boolean,
  unlock: (() => Promise<void>) | undefined,
): Promise<Emulator> {
  const saved = ownsDataDir ? undefined : await loadState(dataDir);
  // The VOD bucket name is part of every saved media's address: keep it unless one is configured.
  const vodBucket = options.vodBucket ?? saved?.vodBucket ?? o.vodBucket;
  const buckets = [...new Set([...o.buckets, ...(saved?.buckets ?? [])])].filter((b) => b !== vodBucket);
  let snapshot: SnapshotWriter | undefined;
  const changed = () => snapshot?.changed();
  const account = { accessKeyId: o.accessKeyId, accessKeySecret: o.accessKeySecret };
  const sts = new CredentialStore(o.credentialTtlSeconds, changed);
  const media = new MediaStore(changed);
  const faults = new FaultInjector();
  const requestLog = new RequestLog();
  // VOD delivers an HTTP callback once and retries twice, 1 s apart, then drops it.
  const callbacks = new CallbackSender(o.callbackPrivateKey, o.logger, {
    attempts: 3,
    baseDelayMs: 1000,
    backoff: 'fixed',
  });
  const endpointHost = o.host === '0.0.0.0' || o.host === '::' ? '127.0.0.1' : o.host;
  let endpoint = '';

  // The object store reports completions to VOD, which the VOD deps need: wire through a holder.
  const vod: VodDeps = {
    media,
    sts,
    store: undefined as unknown as ObjectStore,
    callbacks,
    logger: o.logger,
    region: o.region,
    vodBucket,
    createReferenceId: o.createReferenceId,
    credentialTtlSeconds: o.credentialTtlSeconds,
    endpoint: () => endpoint,
    accountCallbackUrl: o.vodCallbackUrl,
  };
  const store = new ObjectStore(
    dataDir,
    [vodBucket, ...buckets],
    { objectWritten: (obj) => onObjectCompleted(vod, obj.bucket, obj.key, obj.size), changed },
    { persistent: !ownsDataDir },
  );
  vod.store = store;
  await store.init();
  if (!ownsDataDir) {
    await saved?.apply({ store, media, sts }, (what) =>
      o.logger.warn({ what }, 'emulator: saved state names a missing or short file; dropped'),
    );
    snapshot = new SnapshotWriter(
      path.join(dataDir, STATE_FILE),
      () => encodeState({ vodBucket, store, media, sts }),
      o.logger,
    );
    // Written now, so the VOD bucket name is fixed from the first start even if nothing else changes.
    changed();
    await snapshot.flush();
  }

  const server = createEmulatorServer({
    oss: {
      store,
      auth: new OssAuthenticator(account, sts, { region: o.region, signatures: o.ossSignatures }),
      faults,
      logger: o.logger,
      benchMode: o.benchMode,
      youngGc: new YoungGarbageCollector(),
      region: o.region,
    },
    vod: { ...vod, auth: new VodAuthenticator(account, sts), faults },
    admin: { adminToken: o.adminToken, faults, sts, store, media, requestLog },
    requestLog,
    logger: o.logger,
    region: o.region,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const hostPart = endpointHost.includes(':') ? `[${endpointHost}]` : endpointHost;
  endpoint = `http://${hostPart}:${port}`;
  o.logger.debug({ url: endpoint, vodBucket }, 'emulator: listening');

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      try {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      } catch (err) {
        o.logger.warn({ err }, 'emulator: server close failed');
      }
      try {
        await callbacks.close();
      } catch (err) {
        o.logger.warn({ err }, 'emulator: callback shutdown failed');
      }
      try {
        await snapshot?.close();
      } catch (err) {
        o.logger.warn({ err }, 'emulator: could not save its state');
      }
      try {
        await store.destroy();
      } catch (err) {
        o.logger.warn({ err }, 'emulator: could not remove its object files');
      }
      if (ownsDataDir) {
        try {
          await rm(dataDir, { recursive: true, force: true });
        } catch (err) {
          o.logger.warn({ err }, 'emulator: could not remove its data dir');
        }
      }
      await unlock?.();
    })();
    return closing;
  };

  return {
    url: endpoint,
    port,
    vodEndpoint: `${hostPart}:${port}`,
    ossEndpoint: endpoint,
    vodBucket,
    buckets,
    region: o.region,
    ossSignatures: o.ossSignatures,
    accessKeyId: o.accessKeyId,
    accessKeySecret: o.accessKeySecret,
    adminToken: o.adminToken,
    dataDir,
    admin: new EmulatorAdminClient(endpoint, o.adminToken),
    close,
  };
}
