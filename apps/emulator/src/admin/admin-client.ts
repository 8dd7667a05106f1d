import type { FaultRule, FaultRuleInput } from '../faults/fault-injector.js';
import type { RequestLogEntry } from './request-log.js';

export interface AdminObjectView {
  key: string;
  size: number;
  etag: string;
  /** Unsigned decimal CRC-64/XZ of the whole object. */
  crc64: string;
  objectType: 'Normal' | 'Multipart';
  contentType: string;
  meta: Record<string, string>;
  lastModified: string;
  /** Files the object is stored as (1 for PutObject, the part count for multipart). */
  parts: number;
}

export interface AdminUploadView {
  key: string;
  uploadId: string;
  initiated: string;
  parts: { partNumber: number; size: number; etag: string; crc64: string }[];
}

export interface AdminMediaView {
  id: string;
  kind: 'video' | 'image' | 'attached';
  title: string;
  status: string;
  bucket: string;
  key: string;
  size: number | null;
  callbackUrl: string | null;
  creationTime: string;
}

export class EmulatorAdminError extends Error {
  override name = 'EmulatorAdminError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Client of the emulator's admin API (fetch-based, usable from any process that knows the emulator's
 * url and admin token). Each fault helper returns the rule it added (its `id` removes it early).
 */
export class EmulatorAdminClient {
  readonly #base: string;
  constructor(
    url: string,
    private readonly adminToken: string,
  ) {
    this.#base = `${url.replace(/\/+$/, '')}/__emulator`;
  }

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(this.#base + path, {
      method,
      headers: {
        Authorization: `Bearer ${this.adminToken}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok)
      throw new EmulatorAdminError(res.status, String(json.error ?? `admin call failed: ${res.status}`));
    return json as T;
  }

  health(): Promise<{ ok: boolean }> {
    return this.#call('GET', '/health');
  }

  /** Adds any fault rule (see FaultRuleInput). */
  injectFault(input: FaultRuleInput): Promise<FaultRule> {
    return this.#call('POST', '/faults', input);
  }

  /** The next `count` UploadPart requests (on `key`, if given) fail with `status` + OSS `code`. */
  failUploadParts(
    o: { count?: number; status?: number; code?: string; message?: string; key?: string } = {},
  ) {
    return this.injectFault({
      service: 'oss',
      operation: 'UploadPart',
      count: o.count ?? 1,
      ...(o.key === undefined ? {} : { key: o.key }),
      action: {
        kind: 'fail',
        status: o.status ?? 500,
        code: o.code ?? 'InternalError',
        ...(o.message === undefined ? {} : { message: o.message }),
      },
    });
  }

  /** The next `count` UploadPart requests get their connection reset (TCP RST) before any body is read. */
  resetUploadParts(o: { count?: number; key?: string } = {}) {
    return this.injectFault({
      service: 'oss',
      operation: 'UploadPart',
      count: o.count ?? 1,
      ...(o.key === undefined ? {} : { key: o.key }),
      action: { kind: 'reset' },
    });
  }

  /** The next `count` UploadPart bodies are cut: the socket is destroyed after `afterBytes` bytes. */
  cutUploadParts(o: { afterBytes: number; count?: number; key?: string }) {
    return this.injectFault({
      service: 'oss',
      operation: 'UploadPart',
      count: o.count ?? 1,
      ...(o.key === undefined ? {} : { key: o.key }),
      action: { kind: 'cut', afterBytes: o.afterBytes },
    });
  }

  /** The next `count` VOD calls (of `action`, if given) fail, e.g. 503 `ServiceUnavailable` or 400 `Throttling.User`. */
  failVodCalls(
    o: { count?: number; status?: number; code?: string; message?: string; action?: string } = {},
  ) {
    return this.injectFault({
      service: 'vod',
      ...(o.action === undefined ? {} : { operation: o.action }),
      count: o.count ?? 1,
      action: {
        kind: 'fail',
        status: o.status ?? 503,
        code: o.code ?? 'ServiceUnavailable',
        ...(o.message === undefined ? {} : { message: o.message }),
      },
    });
  }

  /** Delays responses by `ms` (only `operation`/`service` if given; `count` times, or until reset). */
  delayResponses(o: { ms: number; operation?: string; service?: 'oss' | 'vod'; count?: number }) {
    return this.injectFault({
      ...(o.service === undefined ? {} : { service: o.service }),
      ...(o.operation === undefined ? {} : { operation: o.operation }),
      ...(o.count === undefined ? {} : { count: o.count }),
      action: { kind: 'delay', ms: o.ms },
    });
  }

  async removeFault(id: string): Promise<void> {
    await this.#call('DELETE', `/faults/${encodeURIComponent(id)}`);
  }

  faults(): Promise<{ rules: FaultRule[]; throttle: { bytesPerSecond: number } | null }> {
    return this.#call('GET', '/faults');
  }

  /** Removes every fault rule and the throttle. */
  async resetFaults(): Promise<void> {
    await this.#call('DELETE', '/faults');
  }

  /** Limits request-body and GET-response bandwidth to `bytesPerSecond` shared by all transfers; null lifts it. */
  async throttle(bytesPerSecond: number | null): Promise<void> {
    await this.#call('PUT', '/throttle', { bytesPerSecond });
  }

  /** Makes every STS credential issued so far expired. Returns how many were valid. */
  async expireCredentials(): Promise<number> {
    return (await this.#call<{ expired: number }>('POST', '/credentials/expire')).expired;
  }

  /** The request log (arrival order), optionally only entries after `since` (a seq) or of one operation. */
  async requests(o: { since?: number; operation?: string } = {}): Promise<RequestLogEntry[]> {
    const r = await this.#call<{ requests: RequestLogEntry[] }>('GET', `/requests?since=${o.since ?? 0}`);
    return o.operation === undefined ? r.requests : r.requests.filter((e) => e.operation === o.operation);
  }

  async clearRequests(): Promise<void> {
    await this.#call('DELETE', '/requests');
  }

  async buckets(): Promise<string[]> {
    return (await this.#call<{ buckets: string[] }>('GET', '/buckets')).buckets;
  }

  async listObjects(bucket: string): Promise<AdminObjectView[]> {
    return (
      await this.#call<{ objects: AdminObjectView[] }>(
        'GET',
        `/buckets/${encodeURIComponent(bucket)}/objects`,
      )
    ).objects;
  }

  async listUploads(bucket: string): Promise<AdminUploadView[]> {
    return (
      await this.#call<{ uploads: AdminUploadView[] }>(
        'GET',
        `/buckets/${encodeURIComponent(bucket)}/uploads`,
      )
    ).uploads;
  }

  async media(id: string): Promise<AdminMediaView> {
    return this.#call('GET', `/media/${encodeURIComponent(id)}`);
  }

  async listMedia(): Promise<AdminMediaView[]> {
    return (await this.#call<{ media: AdminMediaView[] }>('GET', '/media')).media;
  }
}
