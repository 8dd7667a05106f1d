import { randomBytes } from 'node:crypto';
import pino, { type Logger } from 'pino';
import type { OssSignatureMode } from './auth/oss-authenticator.js';

/** Options of `startEmulator`. Every field is optional. */
export interface EmulatorOptions {
  /** TCP port; 0 picks a free one. @defaultValue 0 */
  port?: number;
  /** Address to bind. @defaultValue '127.0.0.1' */
  host?: string;
  /**
   * Where the state lives. A directory you pass keeps it across restarts: object bytes in
   * `<dataDir>/blobs/persistent/`, the rest in `<dataDir>/state.json` (see the README's _State on disk_);
   * one emulator at a time may use it. When omitted, a fresh temp directory is made and removed whole on
   * `close()`. @defaultValue a new dir under the OS temp dir
   */
  dataDir?: string;
  /** The account AccessKey pair that VOD and OSS accept. @defaultValue 'emulator-access-key-id' */
  accessKeyId?: string;
  /** @defaultValue 'emulator-access-key-secret' */
  accessKeySecret?: string;
  /** Lifetime of the STS credentials in UploadAuth. @defaultValue 3000 (the cloud's) */
  credentialTtlSeconds?: number;
  /** Key in VOD callback signatures (X-VOD-SIGNATURE). @defaultValue 'emulator-callback-key' */
  callbackPrivateKey?: string;
  /**
   * The account-wide VOD callback URL (what VOD's console or SetMessageCallback sets): every
   * upload-complete event goes there unless the media's UserData names its own. @defaultValue none
   */
  vodCallbackUrl?: string;
  /** Region id in UploadAuth and host ids. @defaultValue 'cn-shanghai' */
  region?: string;
  /** Plain OSS buckets that exist besides the VOD bucket. @defaultValue ['mediaferry-local'] */
  buckets?: string[];
  /** Bearer token of the admin API (`/__emulator/...`). @defaultValue random 32 hex chars */
  adminToken?: string;
  /**
   * Bench-only: PutObject and UploadPart skip the MD5 (unless the request carries Content-MD5), so their
   * ETags are NOT content MD5s (`"<crc64 hex><size hex>"` instead) and no Content-MD5 is answered; the
   * CRC-64 is still computed on every byte. MD5 costs ~1.5 CPU s per GiB on this single-threaded server,
   * which would otherwise cap any benchmark of a client. Never use it where a client checks ETags.
   * @defaultValue false
   */
  benchMode?: boolean;
  /** @deprecated the former name of {@link EmulatorOptions.benchMode} (same effect). */
  skipPartMd5?: boolean;
  /** pino logger. @defaultValue silent */
  logger?: Logger;
  /**
   * OSS signatures accepted: `v1-and-v4` (a bucket created before 2025-09-01) or `v4-only` (a bucket
   * created today: V1 header signatures answer 403 AccessDenied). @defaultValue 'v1-and-v4'
   */
  ossSignatures?: OssSignatureMode;
  /**
   * `ignore`: CreateUploadVideo accepts and validates `ReferenceId` but does not store it (nor check it
   * for uniqueness), for callers that must stay safe if VOD does not honour it there.
   * @defaultValue 'honour'
   */
  createReferenceId?: 'honour' | 'ignore';
  /**
   * Name of the VOD storage bucket (`outin-<32 hex>` on the cloud).
   * @defaultValue the one saved in `dataDir`, else 'outin-' + 32 random hex chars
   */
  vodBucket?: string;
}

export interface ResolvedOptions {
  port: number;
  host: string;
  dataDir: string | undefined;
  accessKeyId: string;
  accessKeySecret: string;
  credentialTtlSeconds: number;
  callbackPrivateKey: string;
  vodCallbackUrl: string | undefined;
  region: string;
  buckets: string[];
  adminToken: string;
  benchMode: boolean;
  logger: Logger;
  vodBucket: string;
  ossSignatures: OssSignatureMode;
  createReferenceId: 'honour' | 'ignore';
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

export function resolveOptions(o: EmulatorOptions = {}): ResolvedOptions {
  const resolved: ResolvedOptions = {
    port: o.port ?? 0,
    host: o.host ?? '127.0.0.1',
    dataDir: o.dataDir,
    accessKeyId: o.accessKeyId ?? 'emulator-access-key-id',
    accessKeySecret: o.accessKeySecret ?? 'emulator-access-key-secret',
    credentialTtlSeconds: o.credentialTtlSeconds ?? 3000,
    callbackPrivateKey: o.callbackPrivateKey ?? 'emulator-callback-key',
    vodCallbackUrl: o.vodCallbackUrl,
    region: o.region ?? 'cn-shanghai',
    buckets: o.buckets ?? ['mediaferry-local'],
    adminToken: o.adminToken ?? randomBytes(16).toString('hex'),
    benchMode: o.benchMode ?? o.skipPartMd5 ?? false,
    logger: o.logger ?? pino({ level: 'silent' }),
    vodBucket: o.vodBucket ?? `outin-${randomBytes(16).toString('hex')}`,
    ossSignatures: o.ossSignatures ?? 'v1-and-v4',
    createReferenceId: o.createReferenceId ?? 'honour',
  };
  if (resolved.createReferenceId !== 'honour' && resolved.createReferenceId !== 'ignore') {
    throw new RangeError(
      `createReferenceId must be 'honour' or 'ignore', got ${String(resolved.createReferenceId)}`,
    );
  }
  if (resolved.ossSignatures !== 'v1-and-v4' && resolved.ossSignatures !== 'v4-only') {
    throw new RangeError(
      `ossSignatures must be 'v1-and-v4' or 'v4-only', got ${String(resolved.ossSignatures)}`,
    );
  }
  if (!Number.isInteger(resolved.port) || resolved.port < 0 || resolved.port > 65535) {
    throw new RangeError(`port must be 0..65535, got ${resolved.port}`);
  }
  if (!(resolved.credentialTtlSeconds > 0)) {
    throw new RangeError(`credentialTtlSeconds must be > 0, got ${resolved.credentialTtlSeconds}`);
  }
  for (const b of [...resolved.buckets, resolved.vodBucket]) {
    if (!BUCKET_NAME.test(b)) throw new RangeError(`invalid bucket name "${b}"`);
  }
  if (resolved.adminToken.length < 8) throw new RangeError('adminToken must have at least 8 characters');
  return resolved;
}
