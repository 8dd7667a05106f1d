import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { RedisOptions } from 'ioredis';

/**
 * Where Redis is. The config's `redis` object (@mediaferry/config `RedisConnectionConfig`) has this
 * shape, so apps pass it to `createRedis` as it is.
 * - `standalone`: `url` only (`redis://[user:password@]host:port[/db]`, `rediss://` for TLS);
 * - `sentinel`: `nodes` are the sentinels, `sentinelMaster` the master group; the URL's db applies;
 * - `cluster`: `nodes` are seed nodes of a Redis Cluster; the client discovers the others.
 */
export interface RedisTarget {
  mode: 'standalone' | 'cluster' | 'sentinel';
  url: string;
  nodes?: readonly { host: string; port: number }[] | undefined;
  sentinelMaster?: string | undefined;
  /** Win over the URL's user and password. */
  username?: string | undefined;
  password?: string | undefined;
  sentinelUsername?: string | undefined;
  sentinelPassword?: string | undefined;
  /** TLS towards the data nodes (and the sentinels); `rediss://` turns it on too. */
  tls?:
    | { caFile?: string | undefined; servername?: string | undefined; rejectUnauthorized?: boolean }
    | undefined;
}

/** What `createRedis` hands to ioredis for a target (before the per-role options). */
export interface ResolvedTarget {
  /** Cluster seed nodes; absent for standalone and Sentinel. */
  cluster?: { host: string; port: number }[];
  redisOptions: RedisOptions;
}

function tlsOptions(target: RedisTarget): ConnectionOptions | undefined {
  const tls = target.tls ?? (target.url.startsWith('rediss:') ? {} : undefined);
  if (!tls) return undefined;
  return {
    ...(tls.caFile ? { ca: readFileSync(tls.caFile) } : {}),
    ...(tls.servername ? { servername: tls.servername } : {}),
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
  };
}

/** The URL's parts as ioredis options (only what a URL can say: credentials, db, host, port). */
function urlOptions(url: string): RedisOptions {
  const u = new URL(url);
  const db = u.pathname.replace(/^\//, '');
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db ? { db: Number(db) } : {}),
  };
}

/** Maps a target to ioredis options; throws on a target that cannot work (caught by config first). */
export function targetOptions(target: RedisTarget): ResolvedTarget {
  const tls = tlsOptions(target);
  const credentials: RedisOptions = {
    ...(target.username ? { username: target.username } : {}),
    ...(target.password ? { password: target.password } : {}),
    ...(tls ? { tls } : {}),
  };
  const nodes = [...(target.nodes ?? [])];
  if (target.mode === 'cluster') {
    if (nodes.length === 0) throw new Error('a Redis Cluster target needs at least one node');
    return { cluster: nodes, redisOptions: credentials };
  }
  const fromUrl = urlOptions(target.url);
  if (target.mode === 'sentinel') {
    if (nodes.length === 0 || !target.sentinelMaster)
      throw new Error('a Sentinel target needs sentinels and a master name');
    const { host: _host, port: _port, ...rest } = fromUrl;
    return {
      redisOptions: {
        ...rest,
        ...credentials,
        sentinels: nodes,
        name: target.sentinelMaster,
        ...(target.sentinelUsername ? { sentinelUsername: target.sentinelUsername } : {}),
        ...(target.sentinelPassword ? { sentinelPassword: target.sentinelPassword } : {}),
        ...(tls ? { enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
      },
    };
  }
  return { redisOptions: { ...fromUrl, ...credentials } };
}
