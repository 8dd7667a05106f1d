import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '@mediaferry/core';
import { z } from 'zod';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max: number = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const port = int(0, 65535);

/** `service:value,service:value` → Map(service → value). Services and values are non-empty. */
const servicePairs = z.string().transform((raw, ctx) => {
  const map = new Map<string, string>();
  for (const entry of raw
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const i = entry.indexOf(':');
    const service = i > 0 ? entry.slice(0, i).trim() : '';
    const value = i > 0 ? entry.slice(i + 1).trim() : '';
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(service) || value.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'expected service:value pairs separated by commas' });
      return z.NEVER;
    }
    map.set(service, value);
  }
  return map;
});

const roots = z.string().transform((raw, ctx) => {
  const list = raw.split(':').filter(Boolean);
  for (const r of list) {
    if (!path.isAbsolute(r)) {
      ctx.addIssue({ code: 'custom', message: `"${r}" is not an absolute directory` });
      return z.NEVER;
    }
  }
  return list.map((r) => path.resolve(r));
});

const url = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    `expected a ${protocols.join(' or ')} URL`,
  );

/** `host:port,host:port` (IPv6 as `[::1]:port`) → [{host, port}]. */
const hostPorts = z.string().transform((raw, ctx) => {
  const out: { host: string; port: number }[] = [];
  for (const entry of raw
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(entry);
    const portNumber = Number(m?.[3]);
    if (!m || portNumber < 1 || portNumber > 65535) {
      ctx.addIssue({ code: 'custom', message: `"${entry}" is not host:port` });
      return z.NEVER;
    }
    out.push({ host: (m[1] ?? m[2]) as string, port: portNumber });
  }
  if (out.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'expected host:port pairs separated by commas' });
    return z.NEVER;
  }
  return out;
});

/** CONTRACT §4 plus a few operational knobs; every default is documented in the README. */
const envSchema = z.object({
  REDIS_URL: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  /** Prefix of every BullMQ and mediaferry key in Redis. */
  MEDIAFERRY_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_:-]{1,32}$/)
    .default('mediaferry'),
  MEDIAFERRY_API_TOKENS: servicePairs.optional(),
  /** Redis Cluster seed nodes; when set, REDIS_URL is ignored (see RedisConnectionConfig). */
  REDIS_CLUSTER_NODES: hostPorts.optional(),
  /** Sentinels watching the master named REDIS_SENTINEL_MASTER; when set, REDIS_URL's host is ignored. */
  REDIS_SENTINELS: hostPorts.optional(),
  REDIS_SENTINEL_MASTER: z.string().min(1).optional(),
  REDIS_USERNAME: z.string().min(1).optional(),
  REDIS_PASSWORD: z.string().min(1).optional(),
  REDIS_SENTINEL_USERNAME: z.string().min(1).optional(),
  REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
  /** TLS towards cluster nodes / the Sentinel-chosen master (a `rediss://` REDIS_URL turns it on too). */
  REDIS_TLS: bool.default(false),
  REDIS_TLS_CA_FILE: z.string().min(1).optional(),
  REDIS_TLS_SERVERNAME: z.string().min(1).optional(),
  REDIS_TLS_REJECT_UNAUTHORIZED: bool.default(true),
  /** BullMQ upload queues that jobs spread over (each on its own cluster slot). */
  MEDIAFERRY_QUEUE_SHARDS: int(1, 32).default(1),
  MEDIAFERRY_WEBHOOK_SECRETS: servicePairs.optional(),
  MEDIAFERRY_FILE_ROOTS: roots.default([]),
  MEDIAFERRY_URL_ALLOW_PRIVATE: bool.default(false),
  MEDIAFERRY_MAX_URL_BYTES: int(1).default(5 * GiB),
  VOD_ENDPOINT: z.string().min(1).default('http://127.0.0.1:9000'),
  VOD_REGION: z
    .string()
    .regex(/^[a-z0-9-]+$/)
    .default('cn-shanghai'),
  ALIBABA_CLOUD_ACCESS_KEY_ID: z.string().min(1).optional(),
  ALIBABA_CLOUD_ACCESS_KEY_SECRET: z.string().min(1).optional(),
  EMULATOR_ACCESS_KEY_ID: z.string().min(1).default('emulator-access-key-id'),
  EMULATOR_ACCESS_KEY_SECRET: z.string().min(1).default('emulator-access-key-secret'),
  EMULATOR_DATA_DIR: z.string().min(1).default(path.join(os.tmpdir(), 'mediaferry-emulator')),
  EMULATOR_CALLBACK_PRIVATE_KEY: z.string().min(1).default('emulator-callback-key'),
  /** Lifetime of the STS credentials the emulator issues (the cloud's is 3000 s). */
  EMULATOR_CREDENTIAL_TTL_SECONDS: int(1).default(3000),
  /** Bearer token of the emulator's admin API; random (written to a file in the data dir) when unset. */
  EMULATOR_ADMIN_TOKEN: z.string().min(8).optional(),
  /** Plain OSS buckets the emulator serves besides its VOD bucket, comma-separated. */
  EMULATOR_BUCKETS: z
    .string()
    .transform((raw) =>
      raw
        .split(',')
        .map((b) => b.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, 'expected OSS bucket names')))
    .optional(),
  WORKER_CONCURRENCY: int(1, 256).default(4),
  UPLOAD_PART_SIZE: int(100 * 1024, 5 * GiB).default(8 * MiB),
  UPLOAD_PART_PARALLELISM: int(1, 64).default(4),
  /** How long a worker waits for in-flight parts on SIGTERM before handing jobs back anyway. */
  WORKER_SHUTDOWN_GRACE_MS: int(0).default(25_000),
  /** BullMQ job lock: a dead or frozen worker's job comes back after about this plus the stalled interval. */
  WORKER_LOCK_DURATION_MS: int(1000).default(30_000),
  /** How often workers look for jobs whose lock expired. */
  WORKER_STALLED_INTERVAL_MS: int(100).default(15_000),
  /** Times a job may come back from a dead worker before it fails (code JOB_STALLED). */
  WORKER_MAX_STALLED_COUNT: int(0, 1000).default(5),
  /** Requests per service per window on the job routes, counted in Redis across API replicas. */
  API_RATE_LIMIT_MAX: int(1).default(600),
  API_RATE_LIMIT_WINDOW_MS: int(100).default(60_000),
  API_PORT: port.default(8080),
  WORKER_METRICS_PORT: port.default(9464),
  METRICS_PORT: port.default(9465),
  EMULATOR_PORT: port.default(9000),
  /** Address servers bind to. */
  BIND_HOST: z.string().min(1).default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

type Env = z.output<typeof envSchema>;

/**
 * Where Redis is and how to talk to it; `createRedis` of @mediaferry/queue takes this as it is.
 * - `standalone`: `url` (`redis://` or `rediss://`, user, password and db in it as ioredis reads them);
 * - `cluster`: `nodes` are seed nodes of a Redis Cluster (the rest is discovered);
 * - `sentinel`: `nodes` are sentinels, `sentinelMaster` the master group they watch.
 * `username`/`password` (REDIS_USERNAME/REDIS_PASSWORD) win over the URL's; `tls` is set for
 * `rediss://` or REDIS_TLS=true.
 */
export interface RedisConnectionConfig {
  mode: 'standalone' | 'cluster' | 'sentinel';
  url: string;
  nodes: readonly { host: string; port: number }[];
  sentinelMaster: string | undefined;
  username: string | undefined;
  password: string | undefined;
  sentinelUsername: string | undefined;
  sentinelPassword: string | undefined;
  tls:
    | { caFile: string | undefined; servername: string | undefined; rejectUnauthorized: boolean }
    | undefined;
}

function redisConnection(e: Env): RedisConnectionConfig {
  const bad = (message: string) => new ConfigError(`Invalid configuration:\n  ${message}`);
  if (e.REDIS_CLUSTER_NODES && e.REDIS_SENTINELS)
    throw bad('REDIS_CLUSTER_NODES and REDIS_SENTINELS: set one of them, not both');
  if (e.REDIS_SENTINELS && !e.REDIS_SENTINEL_MASTER)
    throw bad('REDIS_SENTINEL_MASTER: required with REDIS_SENTINELS (the master group name)');
  const mode = e.REDIS_CLUSTER_NODES ? 'cluster' : e.REDIS_SENTINELS ? 'sentinel' : 'standalone';
  const tlsOn = e.REDIS_TLS || e.REDIS_URL.startsWith('rediss:');
  return {
    mode,
    url: e.REDIS_URL,
    nodes: e.REDIS_CLUSTER_NODES ?? e.REDIS_SENTINELS ?? [],
    sentinelMaster: mode === 'sentinel' ? e.REDIS_SENTINEL_MASTER : undefined,
    username: e.REDIS_USERNAME,
    password: e.REDIS_PASSWORD,
    sentinelUsername: e.REDIS_SENTINEL_USERNAME,
    sentinelPassword: e.REDIS_SENTINEL_PASSWORD,
    tls: tlsOn
      ? {
          caFile: e.REDIS_TLS_CA_FILE,
          servername: e.REDIS_TLS_SERVERNAME,
          rejectUnauthorized: e.REDIS_TLS_REJECT_UNAUTHORIZED,
        }
      : undefined,
  };
}

export interface Config {
  redisUrl: string;
  redisPrefix: string;
  /** The Redis deployment (standalone, cluster or sentinel); pass it to `createRedis`. */
  redis: RedisConnectionConfig;
  /** Upload queue shards (MEDIAFERRY_QUEUE_SHARDS). */
  queueShards: number;
  /** token → service */
  apiTokens: ReadonlyMap<string, string>;
  /** service → webhook secret */
  webhookSecrets: ReadonlyMap<string, string>;
  fileRoots: readonly string[];
  urlAllowPrivate: boolean;
  maxUrlBytes: number;
  vod: { endpoint: string; region: string; accessKeyId: string; accessKeySecret: string };
  emulator: {
    accessKeyId: string;
    accessKeySecret: string;
    dataDir: string;
    callbackPrivateKey: string;
    credentialTtlSeconds: number;
    port: number;
    adminToken: string | undefined;
    buckets: readonly string[];
  };
  worker: {
    concurrency: number;
    metricsPort: number;
    shutdownGraceMs: number;
    lockDurationMs: number;
    stalledIntervalMs: number;
    maxStalledCount: number;
  };
  /** Per-service rate limit of the API's job routes. */
  apiRateLimit: { max: number; windowMs: number };
  upload: { partSize: number; parallelism: number };
  apiPort: number;
  metricsPort: number;
  bindHost: string;
  logLevel: Env['LOG_LEVEL'];
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !(value instanceof Map)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Parses the environment once into a frozen, typed object. Throws ConfigError naming every bad
 * variable; apps call this in `main.ts` and exit on failure (see `loadConfigOrExit`).
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  // Empty strings mean "unset" so `FOO= node app` falls back to the default.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`, {
      details: { variables: parsed.error.issues.map((i) => i.path.join('.')) },
    });
  }
  const e = parsed.data;
  const apiTokens = new Map<string, string>();
  for (const [service, token] of e.MEDIAFERRY_API_TOKENS ?? []) {
    if (apiTokens.has(token))
      throw new ConfigError(
        'Invalid configuration:\n  MEDIAFERRY_API_TOKENS: a token is shared by two services',
      );
    apiTokens.set(token, service);
  }
  const config: Config = {
    redisUrl: e.REDIS_URL,
    redisPrefix: e.MEDIAFERRY_REDIS_PREFIX,
    redis: redisConnection(e),
    queueShards: e.MEDIAFERRY_QUEUE_SHARDS,
    apiTokens,
    webhookSecrets: e.MEDIAFERRY_WEBHOOK_SECRETS ?? new Map(),
    fileRoots: e.MEDIAFERRY_FILE_ROOTS,
    urlAllowPrivate: e.MEDIAFERRY_URL_ALLOW_PRIVATE,
    maxUrlBytes: e.MEDIAFERRY_MAX_URL_BYTES,
    vod: {
      endpoint: e.VOD_ENDPOINT,
      region: e.VOD_REGION,
      // Default to the emulator's pair so a newcomer needs no cloud account.
      accessKeyId: e.ALIBABA_CLOUD_ACCESS_KEY_ID ?? e.EMULATOR_ACCESS_KEY_ID,
      accessKeySecret: e.ALIBABA_CLOUD_ACCESS_KEY_SECRET ?? e.EMULATOR_ACCESS_KEY_SECRET,
    },
    emulator: {
      accessKeyId: e.EMULATOR_ACCESS_KEY_ID,
      accessKeySecret: e.EMULATOR_ACCESS_KEY_SECRET,
      dataDir: e.EMULATOR_DATA_DIR,
      callbackPrivateKey: e.EMULATOR_CALLBACK_PRIVATE_KEY,
      credentialTtlSeconds: e.EMULATOR_CREDENTIAL_TTL_SECONDS,
      port: e.EMULATOR_PORT,
      adminToken: e.EMULATOR_ADMIN_TOKEN,
      buckets: e.EMULATOR_BUCKETS ?? ['mediaferry-local'],
    },
    worker: {
      concurrency: e.WORKER_CONCURRENCY,
      metricsPort: e.WORKER_METRICS_PORT,
      shutdownGraceMs: e.WORKER_SHUTDOWN_GRACE_MS,
      lockDurationMs: e.WORKER_LOCK_DURATION_MS,
      stalledIntervalMs: e.WORKER_STALLED_INTERVAL_MS,
      maxStalledCount: e.WORKER_MAX_STALLED_COUNT,
    },
    apiRateLimit: { max: e.API_RATE_LIMIT_MAX, windowMs: e.API_RATE_LIMIT_WINDOW_MS },
    upload: { partSize: e.UPLOAD_PART_SIZE, parallelism: e.UPLOAD_PART_PARALLELISM },
    apiPort: e.API_PORT,
    metricsPort: e.METRICS_PORT,
    bindHost: e.BIND_HOST,
    logLevel: e.LOG_LEVEL,
  };
  return deepFreeze(config);
}

/** For `main.ts`: the config, or a clear message on stderr and exit code 78 (EX_CONFIG). */
export function loadConfigOrExit(env: Record<string, string | undefined>): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(78);
  }
}
