import { inspect } from 'node:util';
import { VodError } from '@mediaferry/core';
import { z } from 'zod';

/**
 * VOD hands out where to upload (`UploadAddress`) and with what (`UploadAuth`, an STS triple) as
 * base64-encoded JSON. Both are decoded and validated here, once, so nothing downstream handles raw
 * base64 or an unchecked shape.
 */

const nonEmpty = z.string().min(1);

const uploadAddressSchema = z.looseObject({
  Endpoint: nonEmpty,
  Bucket: nonEmpty,
  FileName: nonEmpty,
});

const uploadAuthSchema = z.looseObject({
  AccessKeyId: nonEmpty,
  AccessKeySecret: nonEmpty,
  SecurityToken: nonEmpty,
  ExpireUTCTime: z.string().optional(),
  /** Seconds of validity, a string on the wire ("3600"); tolerated as a number. */
  Expiration: z.union([z.string(), z.number()]).optional(),
  Region: z.string().optional(),
});

/** Where VOD wants the object: an OSS endpoint (with scheme), a bucket and an object key. */
export interface UploadAddress {
  /** OSS endpoint with scheme, e.g. `https://oss-cn-shanghai.aliyuncs.com` or `http://127.0.0.1:9000`. */
  endpoint: string;
  bucket: string;
  /** The OSS object key (VOD's `FileName`). */
  objectKey: string;
}

const SECRET_MASK = '***';

/**
 * An STS credential for one upload. The secret and the token live in private fields: spreading,
 * `JSON.stringify` and `util.inspect` (console.log, pino) see them masked, so a stray log line never
 * leaks them. Read them explicitly through the getters when building a client.
 */
export class UploadCredentials {
  readonly accessKeyId: string;
  /** The OSS region id without the `oss-` prefix (e.g. `cn-shanghai`). */
  readonly region: string;
  readonly expiresAt: Date;
  /** When this credential was decoded; with `expiresAt` it gives the lifetime. */
  readonly issuedAt: Date;
  readonly #accessKeySecret: string;
  readonly #securityToken: string;

  constructor(fields: {
    accessKeyId: string;
    accessKeySecret: string;
    securityToken: string;
    region: string;
    expiresAt: Date;
    issuedAt?: Date;
  }) {
    this.accessKeyId = fields.accessKeyId;
    this.#accessKeySecret = fields.accessKeySecret;
    this.#securityToken = fields.securityToken;
    this.region = fields.region;
    this.expiresAt = fields.expiresAt;
    this.issuedAt = fields.issuedAt ?? new Date();
  }

  get accessKeySecret(): string {
    return this.#accessKeySecret;
  }

  get securityToken(): string {
    return this.#securityToken;
  }

  /** Total validity in ms (never negative). */
  get lifetimeMs(): number {
    return Math.max(0, this.expiresAt.getTime() - this.issuedAt.getTime());
  }

  remainingMs(now: Date = new Date()): number {
    return this.expiresAt.getTime() - now.getTime();
  }

  isExpired(now: Date = new Date()): boolean {
    return this.remainingMs(now) <= 0;
  }

  toJSON(): Record<string, string> {
    return {
      accessKeyId: this.accessKeyId,
      accessKeySecret: SECRET_MASK,
      securityToken: SECRET_MASK,
      region: this.region,
      expiresAt: this.expiresAt.toISOString(),
    };
  }

  [inspect.custom](): string {
    return `UploadCredentials ${JSON.stringify(this.toJSON())}`;
  }

  toString(): string {
    return this[inspect.custom]();
  }
}

function malformed(what: string, reason: string, cause?: unknown): VodError {
  // Never echo the decoded value: it may hold the secret.
  return new VodError(`VOD returned a malformed ${what}: ${reason}`, {
    status: 502,
    retryable: false,
    cause,
    details: { reason: `malformed ${what}` },
  });
}

function decodeBase64Json(value: unknown, what: string): unknown {
  if (typeof value !== 'string' || value.length === 0) throw malformed(what, 'missing');
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(value.trim())) throw malformed(what, 'not base64');
  try {
    return JSON.parse(Buffer.from(value.trim(), 'base64').toString('utf8'));
  } catch (err) {
    throw malformed(what, 'not base64-encoded JSON', err instanceof SyntaxError ? undefined : err);
  }
}

function issuePaths(err: z.ZodError): string {
  return err.issues.map((i) => i.path.join('.') || '(root)').join(', ');
}

/** Adds `https://` to an endpoint without a scheme (some VOD responses strip it). */
function withScheme(endpoint: string): string {
  return /^https?:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`;
}

/** Decodes VOD's base64 `UploadAddress`. Throws a fatal `VodError` when it is not what VOD documents. */
export function decodeUploadAddress(base64: unknown): UploadAddress {
  const parsed = uploadAddressSchema.safeParse(decodeBase64Json(base64, 'UploadAddress'));
  if (!parsed.success) throw malformed('UploadAddress', `invalid fields: ${issuePaths(parsed.error)}`);
  return {
    endpoint: withScheme(parsed.data.Endpoint),
    bucket: parsed.data.Bucket,
    objectKey: parsed.data.FileName,
  };
}

/**
 * Decodes VOD's base64 `UploadAuth`. `expiresAt` comes from `ExpireUTCTime`, else `now + Expiration`;
 * one of them must be valid. An already expired credential decodes fine (check `isExpired()`):
 * the caller decides whether to refresh.
 * @param fallbackRegion used when `Region` is absent (the VOD client's region).
 */
export function decodeUploadAuth(
  base64: unknown,
  fallbackRegion = '',
  now: Date = new Date(),
): UploadCredentials {
  const parsed = uploadAuthSchema.safeParse(decodeBase64Json(base64, 'UploadAuth'));
  if (!parsed.success) throw malformed('UploadAuth', `invalid fields: ${issuePaths(parsed.error)}`);
  const auth = parsed.data;
  let expiresAt: Date | null = null;
  if (auth.ExpireUTCTime !== undefined) {
    const t = Date.parse(auth.ExpireUTCTime);
    if (Number.isFinite(t)) expiresAt = new Date(t);
  }
  if (expiresAt === null && auth.Expiration !== undefined) {
    const seconds = Number(auth.Expiration);
    if (Number.isFinite(seconds) && seconds > 0) expiresAt = new Date(now.getTime() + seconds * 1000);
  }
  if (expiresAt === null) throw malformed('UploadAuth', 'neither ExpireUTCTime nor Expiration is valid');
  const region = auth.Region && auth.Region.length > 0 ? auth.Region : fallbackRegion;
  if (region.length === 0) throw malformed('UploadAuth', 'no Region');
  return new UploadCredentials({
    accessKeyId: auth.AccessKeyId,
    accessKeySecret: auth.AccessKeySecret,
    securityToken: auth.SecurityToken,
    region: region.replace(/^oss-/, ''),
    expiresAt,
    issuedAt: now,
  });
}
