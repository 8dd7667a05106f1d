import { createHash } from 'node:crypto';
import { sortableId } from '@mediaferry/core';
import type { RedisClient as Redis } from '@mediaferry/queue';
import { createScript, dropScript, leaseScript, transitionScript } from './client-upload.scripts.js';
import {
  type ClientUploadRecord,
  type ClientUploadStatus,
  decodeRecord,
  pairsToHash,
} from './client-upload-record.js';
import { ClientUploadKeys } from './keys.js';

export const CLIENT_UPLOAD_ID_PATTERN = /^cu_[0-9a-hjkmnp-tv-z]{26}$/;
export const newClientUploadId = (now?: number) => `cu_${sortableId(now)}`;

export interface ClientUploadStoreOptions {
  /** @defaultValue 'mediaferry' */
  prefix?: string;
  /** How long a finished record (and its idempotency key) stays readable. @defaultValue 1209600 (14 days) */
  finishedTtlSeconds?: number;
  /** @defaultValue Date.now */
  now?: () => number;
}

export interface CreateRecordInput {
  service: string;
  endUserId: string | null;
  idempotencyKey: string | null;
  /** What the request asked (hashed: a repeat must ask the same). */
  request: unknown;
  fields: Pick<
    ClientUploadRecord,
    'media' | 'fileName' | 'fileSize' | 'maxBytes' | 'callbackUrl' | 'deadline'
  >;
  limits: {
    requestsPerMinute: number;
    maxOpenPerEndUser: number | null;
    maxBytesPerEndUserPerDay: number | null;
  };
  /** The creator's lease on the record while it calls VOD. */
  lease: { token: string; untilMs: number };
}

export type CreateRecordResult =
  | { outcome: 'created' | 'existing' | 'conflict'; id: string }
  | { outcome: 'rate' | 'open_quota' | 'bytes_quota'; count: number };

export interface TransitionInput {
  from: readonly ClientUploadStatus[];
  to?: ClientUploadStatus;
  /** Only the holder of this lease may change the record. */
  lease?: string;
  releaseLease?: boolean;
  countRefresh?: boolean;
  fields?: Record<string, string>;
}

export type TransitionOutcome =
  | { ok: true; record: ClientUploadRecord }
  | { ok: false; record: ClientUploadRecord | null };

export interface ListOptions {
  status?: ClientUploadStatus;
  endUserId?: string;
  /** @defaultValue 20 */
  limit?: number;
  cursor?: string | null;
}

/**
 * Client-upload records in Redis (one hash each, see `ClientUploadKeys`). Every change is one Lua
 * script, so API replicas racing on the same upload never see a half-done change.
 */
export class ClientUploadStore {
  readonly keys: ClientUploadKeys;
  readonly #ttl: number;
  readonly #now: () => number;

  constructor(
    readonly redis: Redis,
    options: ClientUploadStoreOptions = {},
  ) {
    this.keys = new ClientUploadKeys(options.prefix ?? 'mediaferry');
    this.#ttl = options.finishedTtlSeconds ?? 14 * 86400;
    this.#now = options.now ?? Date.now;
  }

  now(): number {
    return this.#now();
  }

  async create(input: CreateRecordInput): Promise<CreateRecordResult> {
    const now = this.#now();
    const id = newClientUploadId(now);
    const k = this.keys;
    const hasKey = input.idempotencyKey !== null;
    const user = input.endUserId === null ? '' : ClientUploadKeys.endUser(input.endUserId);
    const day = new Date(now).toISOString().slice(0, 10);
    const f = input.fields;
    const reply = (await createScript.run(
      this.redis,
      [
        k.record(input.service, id),
        hasKey ? k.idempotency(input.service, input.idempotencyKey as string) : k.record(input.service, id),
      ],
      [
        k.service(input.service),
        id,
        now,
        hasKey ? '1' : '0',
        createHash('sha256').update(JSON.stringify(input.request)).digest('hex'),
        Math.floor(now / 60_000),
        input.limits.requestsPerMinute,
        user,
        input.limits.maxOpenPerEndUser ?? 0,
        input.limits.maxBytesPerEndUserPerDay ?? 0,
        day,
        f.fileSize,
        f.deadline,
        input.lease.token,
        input.lease.untilMs,
        'service',
        input.service,
        'endUserId',
        input.endUserId ?? '',
        'media',
        JSON.stringify(f.media),
        'fileName',
        f.fileName,
        'callbackUrl',
        f.callbackUrl ?? '',
        'maxBytes',
        f.maxBytes,
      ],
    )) as [string, string];
    const [outcome, value] = reply;
    if (outcome === 'created' || outcome === 'existing' || outcome === 'conflict')
      return { outcome, id: value };
    return { outcome: outcome as 'rate', count: Number(value) };
  }

  async get(service: string, id: string): Promise<ClientUploadRecord | null> {
    if (!CLIENT_UPLOAD_ID_PATTERN.test(id)) return null;
    const record = decodeRecord(await this.redis.hgetall(this.keys.record(service, id)));
    return record?.service === service ? record : null;
  }

  /** The upload a VOD media belongs to (current or superseded media). */
  async byMedia(mediaId: string): Promise<ClientUploadRecord | null> {
    const ref = await this.redis.get(this.keys.media(mediaId));
    if (!ref) return null;
    const [service, id] = ref.split('\n');
    if (!service || !id) return null;
    return this.get(service, id);
  }

  /** Points `mediaId` at the upload; kept as long as a finished record is. */
  async indexMedia(record: Pick<ClientUploadRecord, 'service' | 'id'>, mediaId: string): Promise<void> {
    await this.redis.set(
      this.keys.media(mediaId),
      `${record.service}\n${record.id}`,
      'EX',
      this.#ttl + 7 * 86400,
    );
  }

  async transition(service: string, id: string, t: TransitionInput): Promise<TransitionOutcome> {
    const args: (string | number)[] = [
      this.keys.service(service),
      t.from.join(','),
      t.to ?? '',
      this.#now(),
      this.#ttl,
      t.lease ?? '',
      t.releaseLease ? '1' : '0',
      t.countRefresh ? '1' : '0',
    ];
    for (const [name, value] of Object.entries(t.fields ?? {})) args.push(name, value);
    const reply = (await transitionScript.run(this.redis, [this.keys.record(service, id)], args)) as [
      number,
      string[]?,
    ];
    if (reply[0] === -1) return { ok: false, record: null };
    const record = decodeRecord(pairsToHash(reply[1]));
    return reply[0] === 1 && record ? { ok: true, record } : { ok: false, record };
  }

  /** Takes the record's lease; `held` while another holder's lease runs. */
  async lease(
    service: string,
    id: string,
    token: string,
    ms: number,
  ): Promise<'taken' | 'held' | 'not_issued' | 'missing'> {
    const now = this.#now();
    const reply = (await leaseScript.run(
      this.redis,
      [this.keys.record(service, id)],
      [token, now, now + ms],
    )) as [number];
    return reply[0] === 1 ? 'taken' : reply[0] === -2 ? 'held' : reply[0] === 0 ? 'not_issued' : 'missing';
  }

  /** Removes a record whose media was never created (see dropScript). */
  async drop(service: string, id: string, lease: string): Promise<boolean> {
    return (
      (await dropScript.run(
        this.redis,
        [this.keys.record(service, id)],
        [this.keys.service(service), lease],
      )) === 1
    );
  }

  /** Newest first; by status and/or end user. */
  async list(
    service: string,
    o: ListOptions = {},
  ): Promise<{ records: ClientUploadRecord[]; nextCursor: string | null }> {
    const limit = Math.max(1, Math.min(o.limit ?? 20, 100));
    const p = this.keys.service(service);
    const index =
      o.endUserId !== undefined
        ? `${p}u:${ClientUploadKeys.endUser(o.endUserId)}`
        : o.status
          ? `${p}s:${o.status}`
          : `${p}all`;
    const records: ClientUploadRecord[] = [];
    let max = o.cursor ? `(${o.cursor}` : '+';
    for (;;) {
      const ids = await this.redis.zrevrangebylex(index, max, '-', 'LIMIT', 0, limit + 1 - records.length);
      if (ids.length === 0) return { records, nextCursor: null };
      const pipeline = this.redis.pipeline();
      for (const id of ids) pipeline.hgetall(this.keys.record(service, id));
      const replies = (await pipeline.exec()) ?? [];
      const stale: string[] = [];
      for (const [i, id] of ids.entries()) {
        const [err, hash] = replies[i] ?? [null, {}];
        if (err) throw err;
        const record = decodeRecord(hash as Record<string, string>);
        if (!record) stale.push(id);
        else if (
          (!o.status || record.status === o.status) &&
          (o.endUserId === undefined || record.endUserId === o.endUserId)
        )
          records.push(record);
        if (records.length > limit) {
          records.length = limit;
          return { records, nextCursor: records[limit - 1]?.id ?? null };
        }
      }
      if (stale.length > 0) await this.redis.zrem(index, ...stale);
      max = `(${ids[ids.length - 1]}`;
    }
  }

  /** Open (issued) uploads of a service, earliest deadline first. */
  async open(service: string, limit = 100): Promise<ClientUploadRecord[]> {
    const ids = await this.redis.zrange(`${this.keys.service(service)}open`, 0, String(limit - 1));
    const out: ClientUploadRecord[] = [];
    for (const id of ids) {
      const record = await this.get(service, id);
      if (record?.status === 'issued') out.push(record);
      else await this.redis.zrem(`${this.keys.service(service)}open`, id);
    }
    return out;
  }
}
