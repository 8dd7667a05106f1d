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

/**
 * One service's client-upload policy (MEDIAFERRY_CLIENT_UPLOAD_POLICY = `{"svc": {...}, "*": {...}}`,
 * `*` for services not named). Defaults: 5 GiB, every media type and extension, 24 h deadline, no
 * per-end-user limit, 120 creates per minute.
 */
export const clientUploadPolicySchema = z.strictObject({
  /** Largest declared (and uploaded) file. */
  maxBytes: z
    .number()
    .int()
    .min(1)
    .default(5 * GiB),
  mediaTypes: z
    .array(z.enum(['video', 'audio', 'image', 'attached']))
    .min(1)
    .default(['video', 'audio', 'image', 'attached']),
  /** Lower-case extensions without the dot; null: any (VOD still checks its own list). */
  extensions: z
    .array(z.string().regex(/^[a-z0-9]{1,10}$/))
    .min(1)
    .nullable()
    .default(null),
  /** Seconds from issue until an upload that has not completed expires (its media is deleted). */
  deadlineSeconds: z
    .number()
    .int()
    .min(60)
    .max(7 * 86400)
    .default(86400),
  /** Uploads one end user may have open (issued) at once; null: no limit. */
  maxOpenPerEndUser: z.number().int().min(1).nullable().default(null),
  /** Declared bytes issued to one end user per UTC day; null: no limit. */
  maxBytesPerEndUserPerDay: z.number().int().min(1).nullable().default(null),
  /** Creates and redeems per minute for the whole service. */
  requestsPerMinute: z.number().int().min(1).default(120),
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
  /** Client uploads (CONTRACT §2): per-service policy as JSON; see `clientUploadPolicySchema`. */
  MEDIAFERRY_CLIENT_UPLOAD_POLICY: z
    .string()
    .transform((raw, ctx) => {
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'expected JSON' });
        return z.NEVER;
      }
    })
    .pipe(z.record(z.string().regex(/^([A-Za-z0-9_.-]{1,64}|\*)$/), clientUploadPolicySchema))
    .optional(),
  /** HMAC key of one-time client-upload tickets; tickets are refused without one. */
  MEDIAFERRY_CLIENT_UPLOAD_TICKET_SECRET: z.string().min(32, 'use at least 32 characters').optional(),
  /** The URL VOD posts upload events to, exactly as configured in VOD (it is part of the signature). */
  MEDIAFERRY_VOD_CALLBACK_URL: url(['http:', 'https:']).optional(),
  /** VOD callback private keys, comma-separated: the current one first, the previous one during rotation. */
  MEDIAFERRY_VOD_CALLBACK_KEYS: z
    .string()
    .transform((raw) =>
      raw
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().min(1)).max(2, 'at most two keys (current, previous)'))
    .optional(),
  /** How old an X-VOD-TIMESTAMP may be (either direction) before the event is refused as stale. */
  MEDIAFERRY_VOD_CALLBACK_MAX_AGE_SECONDS: int(1, 3600).default(300),
  /** How often the API looks for open client uploads that completed or passed their deadline. */
  MEDIAFERRY_CLIENT_UPLOAD_RECONCILE_MS: int(100).default(60_000),
  /** The emulator's account-wide VOD callback URL (as set in VOD's console); none: per-request UserData only. */
  EMULATOR_VOD_CALLBACK_URL: url(['http:', 'https:']).optional(),
});

type Env = z.output<typeof envSchema>;

/** Limits of one service's client uploads; every field optional (see DEFAULT_CLIENT_UPLOAD_POLICY). */
export type ClientUploadPolicyInput = z.input<typeof clientUploadPolicySchema>;
export type ClientUploadPolicy = z.output<typeof clientUploadPolicySchema>;

export interface Config {
  redisUrl: string;
  redisPrefix: string;
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
  clientUploads: {
    /** service → policy; `*` applies to services not named. */
    policies: ReadonlyMap<string, ClientUploadPolicy>;
    ticketSecret: string | undefined;
    vodCallbackUrl: string | undefined;
    vodCallbackKeys: readonly string[];
    vodCallbackMaxAgeSeconds: number;
    reconcileIntervalMs: number;
  };
  /** The emulator's account-wide VOD callback URL. */
  emulatorVodCallbackUrl: string | undefined;
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
    clientUploads: {
      policies: new Map(Object.entries(e.MEDIAFERRY_CLIENT_UPLOAD_POLICY ?? {})),
      ticketSecret: e.MEDIAFERRY_CLIENT_UPLOAD_TICKET_SECRET,
      vodCallbackUrl: e.MEDIAFERRY_VOD_CALLBACK_URL,
      vodCallbackKeys: e.MEDIAFERRY_VOD_CALLBACK_KEYS ?? [],
      vodCallbackMaxAgeSeconds: e.MEDIAFERRY_VOD_CALLBACK_MAX_AGE_SECONDS,
      reconcileIntervalMs: e.MEDIAFERRY_CLIENT_UPLOAD_RECONCILE_MS,
    },
    emulatorVodCallbackUrl: e.EMULATOR_VOD_CALLBACK_URL,
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
