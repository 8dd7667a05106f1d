import { isRetryableNetworkCode, MediaferryError, NetworkError, OwnershipLostError } from '@mediaferry/core';
import type { Cluster, Redis } from 'ioredis';
import type {
  Checkpoint,
  CheckpointPart,
  CheckpointStore,
  ClaimOptions,
  UploadState,
  UploadStatePatch,
} from './checkpoint-store.js';
import { pickState } from './checkpoint-store.js';

export interface RedisCheckpointStoreOptions {
  /** A connected ioredis client (a Redis Cluster too: every script touches one key); never closed here. */
  redis: Redis | Cluster;
  /** Key prefix; one hash per upload at `<prefix><uploadKey>`. @defaultValue `mediaferry:checkpoint:` */
  prefix?: string;
  /**
   * Expiry of an idle checkpoint, refreshed by every write. Keep it at least as long as a failed job
   * can still be retried (the job records' `finishedTtlSeconds`, 14 days): a retry that finds no
   * checkpoint creates a second media and never aborts the first upload.
   * @defaultValue 1296000 (15 days)
   */
  ttlSeconds?: number;
}

/*
 * One hash per upload: `owner`, `state` (immutable JSON), `destination` (JSON), `uploadId`,
 * `preparingSince` (ms, while the destination is being created), `streamParts` (a stream's part count once
 * its end was seen), and one `p:<partNumber>` field per
 * completed part. Every conditional write is a Lua script, so "record this
 * part only if I still own the upload" is atomic; parts land in any order without read-modify-write.
 * JSON is never decoded in Lua (cjson would round large sizes to 14 digits).
 */
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'state', ARGV[2])
for i = 4, #ARGV, 2 do
  if ARGV[i + 1] ~= '' then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1`;

// ARGV: owner, ttl, now ('' = no preparing lease), leaseMs.
const CLAIM = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if ARGV[3] ~= '' and redis.call('HEXISTS', KEYS[1], 'destination') == 0 then
  local since = redis.call('HGET', KEYS[1], 'preparingSince')
  if since and redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1]
    and tonumber(since) + tonumber(ARGV[4]) > tonumber(ARGV[3]) then
    return redis.call('HGETALL', KEYS[1])
  end
  redis.call('HSET', KEYS[1], 'preparingSince', ARGV[3])
end
redis.call('HSET', KEYS[1], 'owner', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return redis.call('HGETALL', KEYS[1])`;

// ARGV: owner, ttl, clearParts (0/1), then field/value pairs; an empty value deletes the field.
const UPDATE = `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
if ARGV[3] == '1' then
  for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
    if string.sub(f, 1, 2) == 'p:' then redis.call('HDEL', KEYS[1], f) end
  end
end
for i = 4, #ARGV, 2 do
  if ARGV[i + 1] == '' then redis.call('HDEL', KEYS[1], ARGV[i]) else redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1`;

const RECORD_PART = `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1`;

const DELETE_OWNED = `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])`;

interface Scripts {
  mfCheckpointCreate(
    key: string,
    owner: string,
    state: string,
    ttl: number,
    ...fields: string[]
  ): Promise<number>;
  mfCheckpointClaim(
    key: string,
    owner: string,
    ttl: number,
    now: string,
    leaseMs: string,
  ): Promise<string[] | null>;
  mfCheckpointUpdate(
    key: string,
    owner: string,
    ttl: number,
    clear: string,
    ...fields: string[]
  ): Promise<number>;
  mfCheckpointRecordPart(
    key: string,
    owner: string,
    ttl: number,
    field: string,
    value: string,
  ): Promise<number>;
  mfCheckpointDeleteOwned(key: string, owner: string): Promise<number>;
}

const defined = new WeakSet<Redis | Cluster>();

/**
 * Redis unreachable → a typed, retryable NetworkError (a job attempt fails cleanly instead of with
 * a bare ioredis error); anything else is passed on.
 */
async function typed<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof MediaferryError || !(err instanceof Error)) throw err;
    const connection =
      err.name === 'MaxRetriesPerRequestError' ||
      isRetryableNetworkCode((err as { code?: unknown }).code) ||
      /Connection is closed|Stream isn't writeable|Command timed out|connect E[A-Z]+/i.test(err.message) ||
      // A failover in progress (Redis Cluster, Sentinel): retryable like a dropped connection.
      /^(CLUSTERDOWN|TRYAGAIN|READONLY|LOADING|MASTERDOWN)|slots cache|startup nodes/.test(err.message);
    if (!connection) throw err;
    throw new NetworkError(`checkpoint store unavailable: ${err.message}`, {
      cause: err,
      details: { component: 'checkpoint-store' },
    });
  }
}

/** Checkpoints in Redis, shared by every worker: any of them can resume any upload. */
export class RedisCheckpointStore implements CheckpointStore {
  readonly #redis: (Redis | Cluster) & Scripts;
  readonly #prefix: string;
  readonly #ttl: number;

  constructor(options: RedisCheckpointStoreOptions) {
    const redis = options.redis;
    if (!defined.has(redis)) {
      redis.defineCommand('mfCheckpointCreate', { numberOfKeys: 1, lua: CREATE });
      redis.defineCommand('mfCheckpointClaim', { numberOfKeys: 1, lua: CLAIM });
      redis.defineCommand('mfCheckpointUpdate', { numberOfKeys: 1, lua: UPDATE });
      redis.defineCommand('mfCheckpointRecordPart', { numberOfKeys: 1, lua: RECORD_PART });
      redis.defineCommand('mfCheckpointDeleteOwned', { numberOfKeys: 1, lua: DELETE_OWNED });
      defined.add(redis);
    }
    this.#redis = redis as (Redis | Cluster) & Scripts;
    this.#prefix = options.prefix ?? 'mediaferry:checkpoint:';
    this.#ttl = options.ttlSeconds ?? 15 * 24 * 3600;
  }

  async get(uploadKey: string): Promise<Checkpoint | null> {
    const fields = await typed(this.#redis.hgetall(this.#key(uploadKey)));
    return Object.keys(fields).length === 0 ? null : decode(uploadKey, fields);
  }

  async create(uploadKey: string, owner: string, state: UploadState): Promise<boolean> {
    const { destination, uploadId, preparingSince, streamParts, ...fixed } = pickState(state);
    const key = this.#key(uploadKey);
    const fields = [
      'destination',
      destination ? JSON.stringify(destination) : '',
      'uploadId',
      uploadId ?? '',
      'preparingSince',
      preparingSince === undefined ? '' : String(preparingSince),
      'streamParts',
      streamParts === undefined ? '' : String(streamParts),
    ];
    return (
      (await typed(
        this.#redis.mfCheckpointCreate(key, owner, JSON.stringify(fixed), this.#ttl, ...fields),
      )) === 1
    );
  }

  async claim(uploadKey: string, owner: string, options: ClaimOptions = {}): Promise<Checkpoint | null> {
    const lease = options.preparingLease;
    const flat = await typed(
      this.#redis.mfCheckpointClaim(
        this.#key(uploadKey),
        owner,
        this.#ttl,
        lease ? String(lease.now) : '',
        lease ? String(lease.leaseMs) : '0',
      ),
    );
    if (!flat) return null;
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
    return decode(uploadKey, fields);
  }

  async update(
    uploadKey: string,
    owner: string,
    patch: UploadStatePatch,
    options: { clearParts?: boolean } = {},
  ): Promise<void> {
    const args: string[] = [];
    if (patch.destination !== undefined)
      args.push('destination', patch.destination ? JSON.stringify(patch.destination) : '');
    if (patch.uploadId !== undefined) args.push('uploadId', patch.uploadId ?? '');
    if (patch.streamParts !== undefined) args.push('streamParts', String(patch.streamParts));
    if (patch.preparingSince !== undefined)
      args.push('preparingSince', patch.preparingSince === null ? '' : String(patch.preparingSince));
    const key = this.#key(uploadKey);
    const ok = await typed(
      this.#redis.mfCheckpointUpdate(key, owner, this.#ttl, options.clearParts ? '1' : '0', ...args),
    );
    if (ok !== 1) throw await this.#lost(uploadKey);
  }

  async recordPart(uploadKey: string, owner: string, part: CheckpointPart): Promise<void> {
    const value = JSON.stringify(part);
    const ok = await typed(
      this.#redis.mfCheckpointRecordPart(
        this.#key(uploadKey),
        owner,
        this.#ttl,
        `p:${part.partNumber}`,
        value,
      ),
    );
    if (ok !== 1) throw await this.#lost(uploadKey);
  }

  async assertOwner(uploadKey: string, owner: string): Promise<void> {
    const current = await typed(this.#redis.hget(this.#key(uploadKey), 'owner'));
    if (current !== owner) throw await this.#lost(uploadKey);
  }

  async delete(uploadKey: string, owner?: string): Promise<boolean> {
    const key = this.#key(uploadKey);
    const n =
      owner === undefined
        ? await typed(this.#redis.del(key))
        : await typed(this.#redis.mfCheckpointDeleteOwned(key, owner));
    return n === 1;
  }

  #key(uploadKey: string): string {
    return this.#prefix + uploadKey;
  }

  async #lost(uploadKey: string): Promise<OwnershipLostError> {
    const exists = await typed(this.#redis.exists(this.#key(uploadKey)));
    return new OwnershipLostError(
      exists
        ? `checkpoint ${uploadKey} was claimed by another engine`
        : `checkpoint ${uploadKey} is gone (canceled or finished elsewhere)`,
    );
  }
}

function decode(uploadKey: string, fields: Record<string, string>): Checkpoint {
  const fixed = JSON.parse(fields.state ?? '{}') as Omit<UploadState, 'destination' | 'uploadId'>;
  const parts: CheckpointPart[] = [];
  for (const [name, value] of Object.entries(fields)) {
    if (name.startsWith('p:')) parts.push(JSON.parse(value) as CheckpointPart);
  }
  parts.sort((a, b) => a.partNumber - b.partNumber);
  return {
    ...fixed,
    destination: fields.destination ? JSON.parse(fields.destination) : null,
    uploadId: fields.uploadId || null,
    ...(fields.preparingSince ? { preparingSince: Number(fields.preparingSince) } : {}),
    ...(fields.streamParts ? { streamParts: Number(fields.streamParts) } : {}),
    uploadKey,
    owner: fields.owner ?? '',
    parts,
  };
}
