import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { OssSignatureMode } from '../auth/oss-authenticator.js';

/**
 * The emulator process's settings, parsed once from the environment. The emulator is a stand-in for
 * Alibaba Cloud, not part of mediaferry, so its EMULATOR_* variables live here rather than in
 * @mediaferry/config; it reads the three shared names it needs (VOD_REGION, BIND_HOST, LOG_LEVEL) with
 * the same rules and defaults.
 */

const port = z.coerce.number().int().min(0).max(65535);
const BUCKET = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

const emulatorEnvSchema = z.object({
  EMULATOR_PORT: port.default(9000),
  BIND_HOST: z.string().min(1).default('0.0.0.0'),
  EMULATOR_DATA_DIR: z.string().min(1).default(path.join(os.tmpdir(), 'mediaferry-emulator')),
  EMULATOR_ACCESS_KEY_ID: z.string().min(1).default('emulator-access-key-id'),
  EMULATOR_ACCESS_KEY_SECRET: z.string().min(1).default('emulator-access-key-secret'),
  EMULATOR_CALLBACK_PRIVATE_KEY: z.string().min(1).default('emulator-callback-key'),
  /** Lifetime of the STS credentials it issues (the cloud's is 3000 s). */
  EMULATOR_CREDENTIAL_TTL_SECONDS: z.coerce.number().int().min(1).default(3000),
  /** Bearer token of the admin API; random (written to a file in the data dir) when unset. */
  EMULATOR_ADMIN_TOKEN: z.string().min(8).optional(),
  /** Plain OSS buckets served besides the VOD bucket, comma-separated. */
  EMULATOR_BUCKETS: z
    .string()
    .transform((raw) =>
      raw
        .split(',')
        .map((b) => b.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(BUCKET, 'expected OSS bucket names')))
    .default(['mediaferry-local']),
  /** `v1-and-v4` (a bucket created before 2025-09-01) or `v4-only` (a bucket created today). */
  EMULATOR_OSS_SIGNATURES: z.enum(['v1-and-v4', 'v4-only']).default('v1-and-v4'),
  /** The account-wide VOD callback URL (as set in VOD's console); none: per-request UserData only. */
  EMULATOR_VOD_CALLBACK_URL: z
    .url()
    .refine((u) => /^https?:/.test(u), 'expected an http(s) URL')
    .optional(),
  /** `ignore`: CreateUploadVideo drops ReferenceId (VOD's reference does not confirm it honours it). */
  EMULATOR_CREATE_REFERENCE_ID: z.enum(['honour', 'ignore']).default('honour'),
  VOD_REGION: z
    .string()
    .regex(/^[a-z0-9-]+$/)
    .default('cn-shanghai'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface EmulatorConfig {
  port: number;
  bindHost: string;
  dataDir: string;
  accessKeyId: string;
  accessKeySecret: string;
  callbackPrivateKey: string;
  credentialTtlSeconds: number;
  adminToken: string | undefined;
  buckets: readonly string[];
  ossSignatures: OssSignatureMode;
  vodCallbackUrl: string | undefined;
  createReferenceId: 'honour' | 'ignore';
  region: string;
  logLevel: z.output<typeof emulatorEnvSchema>['LOG_LEVEL'];
}

/** Bad emulator configuration; `variables` names every offending variable. */
export class EmulatorConfigError extends Error {
  override name = 'EmulatorConfigError';
  constructor(
    message: string,
    readonly variables: readonly string[],
  ) {
    super(message);
  }
}

/** Parses the environment into a frozen config; throws EmulatorConfigError naming every bad variable. */
export function loadEmulatorConfig(env: Record<string, string | undefined>): EmulatorConfig {
  // Empty strings mean "unset", as in @mediaferry/config.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = emulatorEnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issues = parsed.error.issues;
    // The variable is the first path element (`EMULATOR_BUCKETS.0` is a bad name inside the list).
    const lines = issues.map((i) => `${String(i.path[0])}: ${i.message}`);
    throw new EmulatorConfigError(`Invalid emulator configuration:\n  ${lines.join('\n  ')}`, [
      ...new Set(issues.map((i) => String(i.path[0]))),
    ]);
  }
  const e = parsed.data;
  return Object.freeze({
    port: e.EMULATOR_PORT,
    bindHost: e.BIND_HOST,
    dataDir: e.EMULATOR_DATA_DIR,
    accessKeyId: e.EMULATOR_ACCESS_KEY_ID,
    accessKeySecret: e.EMULATOR_ACCESS_KEY_SECRET,
    callbackPrivateKey: e.EMULATOR_CALLBACK_PRIVATE_KEY,
    credentialTtlSeconds: e.EMULATOR_CREDENTIAL_TTL_SECONDS,
    adminToken: e.EMULATOR_ADMIN_TOKEN,
    buckets: Object.freeze([...e.EMULATOR_BUCKETS]),
    ossSignatures: e.EMULATOR_OSS_SIGNATURES,
    vodCallbackUrl: e.EMULATOR_VOD_CALLBACK_URL,
    createReferenceId: e.EMULATOR_CREATE_REFERENCE_ID,
    region: e.VOD_REGION,
    logLevel: e.LOG_LEVEL,
  });
}

/** For `main.ts`: the config, or the message on stderr and exit code 78 (EX_CONFIG), like every app. */
export function loadEmulatorConfigOrExit(env: Record<string, string | undefined>): EmulatorConfig {
  try {
    return loadEmulatorConfig(env);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(78);
  }
}
