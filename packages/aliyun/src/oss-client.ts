import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { AbortError, ConfigError } from '@mediaferry/core';
import OSS from 'ali-oss';
import urllib from 'urllib';
import type { UploadAddress, UploadCredentials } from './upload-auth.js';

/**
 * ali-oss client factories. Every client gets `retryMax: 0` (the engine owns retries) and a small
 * urllib wrapper passed as ali-oss's `urllib` option, so that each request can be aborted through an
 * `AbortSignal` carried in ali-oss's per-request `ctx` option, and so the response headers of a failed
 * request are kept (for `Retry-After`). ali-oss itself only has a client-wide `cancel()`, which stops
 * managed uploads, not a request in flight.
 */

/** Per-request context threaded through ali-oss's `ctx` option into the urllib wrapper. */
export interface OssRequestContext {
  signal?: AbortSignal;
  /** Bytes the request body carries: its response timeout grows by `bodyBytes / minBytesPerSecond`. */
  bodyBytes?: number;
  /** Filled in by the wrapper with the response headers (also for failed requests). */
  responseHeaders?: Record<string, unknown>;
}

export interface OssResponseInfo {
  status: number;
  headers: Record<string, string | string[] | undefined>;
}

export interface OssRequestOptions {
  /** urllib timeout: `[connectMs, responseMs]`. */
  timeout?: number | [number, number];
  /**
   * A function returning the context, not the context itself: ali-oss deep-copies some options (e.g.
   * in completeMultipartUpload), which would turn the AbortSignal into a plain object; functions are
   * passed through as they are.
   */
  ctx?: () => OssRequestContext;
  mime?: string;
  headers?: Record<string, string>;
}

export interface OssRawPart {
  PartNumber: string;
  ETag: string;
  Size: string;
  HashCrc64ecma?: string;
  LastModified?: string;
}

/** The slice of the ali-oss client this package uses (typed here: @types/ali-oss lacks `ctx`, `_uploadPart`). */
export interface OssApi {
  initMultipartUpload(
    name: string,
    options?: OssRequestOptions,
  ): Promise<{ uploadId: string; res: OssResponseInfo }>;
  /** ali-oss's streaming part upload: `{stream, size}` is sent as is, with `Content-Length: size`. */
  _uploadPart(
    name: string,
    uploadId: string,
    partNo: number,
    data: { stream: Readable; size: number },
    options?: OssRequestOptions,
  ): Promise<{ etag: string; res: OssResponseInfo }>;
  listParts(
    name: string,
    uploadId: string,
    query?: Record<string, string | number>,
    options?: OssRequestOptions,
  ): Promise<{
    parts: OssRawPart | OssRawPart[] | undefined;
    isTruncated: string | boolean;
    nextPartNumberMarker?: string;
    res: OssResponseInfo;
  }>;
  completeMultipartUpload(
    name: string,
    uploadId: string,
    parts: { number: number; etag: string }[],
    options?: OssRequestOptions,
  ): Promise<{ etag: string; res: OssResponseInfo }>;
  abortMultipartUpload(
    name: string,
    uploadId: string,
    options?: OssRequestOptions,
  ): Promise<{ res: OssResponseInfo }>;
  head(name: string, options?: OssRequestOptions): Promise<{ status: number; res: OssResponseInfo }>;
  /** ListMultipartUploads (`GET /?uploads`), one page. */
  listUploads(
    query: Record<string, string | number>,
    options?: OssRequestOptions,
  ): Promise<{
    uploads: { name: string; uploadId: string; initiated?: string }[];
    isTruncated?: boolean | string;
    nextKeyMarker?: string;
    nextUploadIdMarker?: string;
    res: OssResponseInfo;
  }>;
  /** ali-oss's streaming PutObject: with `contentLength` the body is sent with that Content-Length. */
  putStream(
    name: string,
    stream: Readable,
    options?: OssRequestOptions & { contentLength?: number; mime?: string },
  ): Promise<{ name: string; res: OssResponseInfo }>;
  delete(name: string, options?: OssRequestOptions): Promise<{ res: OssResponseInfo }>;
}

/** How ali-oss signs OSS requests. */
export type OssSignatureVersion = 'v4' | 'v1';

export interface OssClientOptions {
  /**
   * `v4`: OSS4-HMAC-SHA256 with the region in its scope (ali-oss `authorizationV4`), what every bucket
   * accepts and what buckets created since 2025-09-01 (accounts since 2025-03-01) require. `v1`: the
   * legacy HMAC-SHA1 header signature, only for old buckets that still accept it.
   * @defaultValue 'v4'
   */
  signatureVersion?: OssSignatureVersion;
  /**
   * Connect timeout in ms.
   * @defaultValue 10000
   */
  connectTimeoutMs?: number;
  /**
   * Time from connect to the end of the response in ms; for a part this includes sending its body,
   * so keep it well above `partSize / slowest acceptable rate`.
   * @defaultValue 120000
   */
  timeoutMs?: number;
  /**
   * Slowest acceptable upload rate of one request, in bytes per second: a request with a body (a
   * part) gets `timeoutMs + bodyBytes / minBytesPerSecond` to finish, so a 5 GiB part is not held to
   * the deadline of an 8 MiB one.
   * @defaultValue 131072 (128 KiB/s: 8 MiB parts get 64 s more, 5 GiB parts 11.4 h)
   */
  minBytesPerSecond?: number;
  /** @defaultValue a shared keep-alive agent */
  httpAgent?: http.Agent;
  /** @defaultValue a shared keep-alive agent */
  httpsAgent?: https.Agent;
}

/** A ready ali-oss client bound to one bucket, and what it knows about its credential. */
export interface OssClientHandle {
  readonly client: OssApi;
  readonly bucket: string;
  /** Endpoint with scheme. */
  readonly endpoint: string;
  /** True when signing with a VOD STS credential. */
  readonly sts: boolean;
  /** When the credential expires; null for a long-lived account AccessKey. */
  readonly expiresAt: Date | null;
  /** The STS credential (masked when logged), null for an account AccessKey. */
  readonly credentials: UploadCredentials | null;
  /** How this client signs its requests. */
  readonly signatureVersion: OssSignatureVersion;
  /** ali-oss per-request options carrying the timeouts and the abort signal. */
  requestOptions(ctx: OssRequestContext): OssRequestOptions;
}

const sharedHttpAgent = new http.Agent({ keepAlive: true, scheduling: 'lifo' });
const sharedHttpsAgent = new https.Agent({ keepAlive: true, scheduling: 'lifo' });

type UrllibArgs = urllib.RequestOptions & { ctx?: () => OssRequestContext };
type UrllibResult = { data: unknown; status: number; headers: Record<string, unknown>; res: unknown };

/** urllib's `request()` with the agents pinned and per-request abort. */
function signalAwareUrllib(httpAgent: http.Agent, httpsAgent: https.Agent) {
  return {
    request(url: string, args: UrllibArgs): Promise<UrllibResult> {
      const ctx = typeof args.ctx === 'function' ? args.ctx() : undefined;
      const signal = ctx?.signal;
      return new Promise<UrllibResult>((resolve, reject) => {
        if (signal?.aborted) {
          reject(new AbortError('OSS request was aborted', { cause: signal.reason }));
          return;
        }
        let settled = false;
        let req: http.ClientRequest | undefined;
        const onAbort = () => {
          if (settled) return;
          settled = true;
          reject(new AbortError('OSS request was aborted', { cause: signal?.reason }));
          // Tears the socket down; urllib's pump then destroys the body stream too.
          req?.destroy();
        };
        const callback = (
          err: (Error & { headers?: Record<string, unknown> }) | null,
          data: unknown,
          res: unknown,
        ) => {
          signal?.removeEventListener('abort', onAbort);
          const response = res as { statusCode?: number; headers?: Record<string, unknown> } | undefined;
          if (ctx) ctx.responseHeaders = response?.headers ?? err?.headers;
          if (settled) return;
          settled = true;
          if (err) reject(err);
          else resolve({ data, status: response?.statusCode ?? 0, headers: response?.headers ?? {}, res });
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        req = (
          urllib.requestWithCallback as unknown as (
            url: string,
            args: UrllibArgs,
            cb: typeof callback,
          ) => http.ClientRequest | undefined
        )(url, { ...args, agent: httpAgent, httpsAgent }, callback);
      });
    },
  };
}

function normalizeRegion(region: string): string {
  return region.startsWith('oss-') ? region : `oss-${region}`;
}

function endpointWithScheme(endpoint: string): string {
  return /^https?:\/\//i.test(endpoint) ? endpoint : `http://${endpoint}`;
}

type HandleFields = Omit<OssClientHandle, 'client' | 'requestOptions' | 'signatureVersion'>;
type HandleState = HandleFields & { signatureVersion: OssSignatureVersion };

/** Keeps the ali-oss client (whose options hold the secret in clear) out of JSON and inspect output. */
class OssClientHandleImpl implements OssClientHandle {
  readonly bucket: string;
  readonly endpoint: string;
  readonly sts: boolean;
  readonly expiresAt: Date | null;
  readonly credentials: UploadCredentials | null;
  readonly signatureVersion: OssSignatureVersion;
  readonly #client: OssApi;
  readonly #timeout: [number, number];
  readonly #minBytesPerSecond: number;

  constructor(fields: HandleState, client: OssApi, timeout: [number, number], minBytesPerSecond: number) {
    this.bucket = fields.bucket;
    this.endpoint = fields.endpoint;
    this.sts = fields.sts;
    this.expiresAt = fields.expiresAt;
    this.credentials = fields.credentials;
    this.signatureVersion = fields.signatureVersion;
    this.#client = client;
    this.#timeout = timeout;
    this.#minBytesPerSecond = minBytesPerSecond;
  }

  get client(): OssApi {
    return this.#client;
  }

  requestOptions(ctx: OssRequestContext): OssRequestOptions {
    const [connectMs, responseMs] = this.#timeout;
    const bodyMs = ctx.bodyBytes ? Math.ceil((ctx.bodyBytes * 1000) / this.#minBytesPerSecond) : 0;
    return { timeout: [connectMs, responseMs + bodyMs], ctx: () => ctx };
  }
}

function makeHandle(
  fields: HandleFields,
  config: Record<string, unknown>,
  options: OssClientOptions,
): OssClientHandle {
  const connectMs = options.connectTimeoutMs ?? 10_000;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const signatureVersion = options.signatureVersion ?? 'v4';
  if (signatureVersion !== 'v4' && signatureVersion !== 'v1') {
    throw new ConfigError(`signatureVersion must be 'v4' or 'v1', got ${String(signatureVersion)}`);
  }
  let client: OssApi;
  try {
    client = new OSS({
      ...config,
      // V4 signs with the region from `config.region` (ali-oss strips the `oss-` prefix for the scope).
      authorizationV4: signatureVersion === 'v4',
      timeout: timeoutMs,
      retryMax: 0,
      urllib: signalAwareUrllib(options.httpAgent ?? sharedHttpAgent, options.httpsAgent ?? sharedHttpsAgent),
    } as unknown as OSS.Options) as unknown as OssApi;
  } catch (err) {
    // ali-oss validates endpoint and bucket names synchronously; its messages hold no secret.
    throw new ConfigError(`Invalid OSS client settings: ${(err as Error).message}`, { cause: err });
  }
  const minRate = options.minBytesPerSecond ?? 128 * 1024;
  if (!(minRate > 0)) throw new ConfigError(`minBytesPerSecond must be positive, got ${minRate}`);
  return new OssClientHandleImpl({ ...fields, signatureVersion }, client, [connectMs, timeoutMs], minRate);
}

/**
 * An ali-oss client for a VOD upload: the address's endpoint and bucket, the STS triple, and
 * `region: 'oss-' + Region` — UploadAuth's `Region` (else the VOD client's), which is both the V4
 * signature's scope and what ali-oss builds the Host header from when the endpoint is an IP.
 */
export function createStsOssClient(
  address: UploadAddress,
  credentials: UploadCredentials,
  options: OssClientOptions = {},
): OssClientHandle {
  return makeHandle(
    {
      bucket: address.bucket,
      endpoint: address.endpoint,
      sts: true,
      expiresAt: credentials.expiresAt,
      credentials,
    },
    {
      endpoint: address.endpoint,
      bucket: address.bucket,
      region: normalizeRegion(credentials.region),
      accessKeyId: credentials.accessKeyId,
      accessKeySecret: credentials.accessKeySecret,
      stsToken: credentials.securityToken,
      // Only silences ali-oss's "set refreshSTSToken" warning: refresh is ours (credential-refresher.ts).
      refreshSTSTokenInterval: Math.max(1, credentials.lifetimeMs),
    },
    options,
  );
}

/** Account settings for plain-OSS targets. */
export interface OssAccount {
  /** `http://127.0.0.1:9000`, `127.0.0.1:9000` (http) or `https://oss-cn-shanghai.aliyuncs.com`. */
  endpoint: string;
  /** `cn-shanghai` or `oss-cn-shanghai`. */
  region: string;
  accessKeyId: string;
  accessKeySecret: string;
}

/** An ali-oss client for a plain bucket, signed with the account AccessKey (never expires). */
export function createAccountOssClient(
  account: OssAccount & { bucket: string },
  options: OssClientOptions = {},
): OssClientHandle {
  const endpoint = endpointWithScheme(account.endpoint);
  return makeHandle(
    {
      bucket: account.bucket,
      endpoint,
      sts: false,
      expiresAt: null,
      credentials: null,
    },
    {
      endpoint,
      bucket: account.bucket,
      region: normalizeRegion(account.region),
      accessKeyId: account.accessKeyId,
      accessKeySecret: account.accessKeySecret,
    },
    options,
  );
}
