import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { type RedisTarget, targetOptions } from './redis-target.js';

/** A connection `createRedis` made: one Redis (standalone or through Sentinel) or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

/** Anything with pino's `warn`/`error` shape; the queue package never depends on a logger library. */
export interface QueueLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * - `client`: request paths (API, producers). Commands fail fast while Redis is away
 *   (no offline queue, one retry) so a request answers 503 instead of hanging.
 * - `worker`: BullMQ workers and long-lived background loops. Commands wait for the reconnect
 *   (`maxRetriesPerRequest: null`, which BullMQ requires for its blocking connection).
 * - `subscriber`: pub/sub only; waits for the reconnect and resubscribes.
 */
export type RedisRole = 'client' | 'worker' | 'subscriber';

export interface CreateRedisOptions {
  /** @defaultValue 'client' */
  role?: RedisRole;
  /** Connection errors are logged here (at most one line per `errorLogIntervalMs`), never thrown. */
  logger?: QueueLogger;
  /** Shown by `CLIENT LIST`. @defaultValue `mediaferry-<role>` */
  connectionName?: string;
  /** Connect only on the first command / `connect()`. @defaultValue false */
  lazyConnect?: boolean;
  /** Upper bound of the reconnect delay. @defaultValue 5000 */
  maxReconnectDelayMs?: number;
  /** Per-command timeout for the `client` role. @defaultValue 5000 */
  commandTimeoutMs?: number;
  /** @defaultValue 10000 */
  errorLogIntervalMs?: number;
  /**
   * ioredis auto-pipelining: the commands issued in one event-loop turn go out as one write and come
   * back as one read, which is what a busy API's many concurrent requests need. Not for connections
   * that block (BullMQ workers' `BRPOPLPUSH`/`BZPOPMIN`), which would hold up every command behind them.
   * @defaultValue false
   */
  autoPipelining?: boolean;
}

/**
 * Reconnect delay: exponential from 100 ms up to `maxMs`, with ±20 % jitter so a fleet of
 * processes does not reconnect in lockstep after a Redis restart. Never gives up.
 */
export function reconnectDelay(times: number, maxMs = 5000): number {
  const base = Math.min(maxMs, 100 * 2 ** Math.min(times - 1, 16));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/**
 * The ONE place a Redis connection is made; every package and app calls this. `target` is a URL
 * (`redis://…`, `rediss://…`) or the config's `redis` (standalone, Sentinel or Cluster, with TLS and
 * credentials): a Cluster target gives an ioredis `Cluster`, the others a `Redis`.
 */
export function createRedis(target: string | RedisTarget, options: CreateRedisOptions = {}): RedisClient {
  const role = options.role ?? 'client';
  const maxDelay = options.maxReconnectDelayMs ?? 5000;
  const clientRole = role === 'client';
  const perNode: RedisOptions = {
    maxRetriesPerRequest: clientRole ? 1 : null,
    ...(clientRole ? { commandTimeout: options.commandTimeoutMs ?? 5000 } : {}),
    connectionName: options.connectionName ?? `mediaferry-${role}`,
    connectTimeout: 5000,
    // A failover leaves clients on a replica: reconnect on READONLY.
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
  };
  const resolved = targetOptions(typeof target === 'string' ? { mode: 'standalone', url: target } : target);
  let redis: RedisClient;
  if (resolved.cluster) {
    const clusterOptions: ClusterOptions = {
      // The client role fails fast while a slot has no master (503) instead of queueing requests.
      enableOfflineQueue: !clientRole,
      lazyConnect: options.lazyConnect ?? false,
      enableAutoPipelining: options.autoPipelining ?? false,
      clusterRetryStrategy: (times) => reconnectDelay(times, maxDelay),
      // A master's replica needs a few seconds (cluster-node-timeout) to take over: keep retrying.
      retryDelayOnClusterDown: 200,
      retryDelayOnFailover: 200,
      retryDelayOnTryAgain: 200,
      slotsRefreshTimeout: 2000,
      redisOptions: { ...perNode, ...resolved.redisOptions },
    };
    redis = new Cluster(resolved.cluster, clusterOptions);
  } else {
    redis = new Redis({
      ...perNode,
      ...resolved.redisOptions,
      enableOfflineQueue: !clientRole,
      lazyConnect: options.lazyConnect ?? false,
      enableAutoPipelining: options.autoPipelining ?? false,
      retryStrategy: (times) => reconnectDelay(times, maxDelay),
      sentinelRetryStrategy: (times) => reconnectDelay(times, maxDelay),
    });
  }
  // Without a listener ioredis prints every connection error; log them throttled instead.
  const interval = options.errorLogIntervalMs ?? 10_000;
  let lastLog = 0;
  let suppressed = 0;
  redis.on('error', (err: Error) => {
    const now = Date.now();
    if (now - lastLog < interval) {
      suppressed += 1;
      return;
    }
    options.logger?.warn(
      { err: { message: err.message, code: (err as { code?: unknown }).code }, role, suppressed },
      'redis connection error',
    );
    lastLog = now;
    suppressed = 0;
  });
  return redis;
}

/** PING with a deadline; true when Redis answered in time. Never throws. */
export async function pingRedis(redis: RedisClient, timeoutMs = 1000): Promise<boolean> {
  if (redis.status !== 'ready') return false;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      redis.ping().then((r) => r === 'PONG'),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves when the connection is ready; rejects after `timeoutMs` or when `signal` aborts. */
export async function waitForRedisReady(
  redis: RedisClient,
  timeoutMs = 10_000,
  signal?: AbortSignal,
): Promise<void> {
  if (redis.status === 'ready') return;
  if (redis.status === 'wait') void redis.connect().catch(() => {});
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    const onReady = () => done();
    const onAbort = () => done(new Error('aborted while waiting for Redis'));
    const timer = setTimeout(() => done(new Error(`Redis not ready after ${timeoutMs} ms`)), timeoutMs);
    redis.once('ready', onReady);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Closes gracefully (QUIT) and falls back to a hard disconnect when Redis is unreachable. */
export async function closeRedis(redis: RedisClient): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  try {
    await Promise.race([redis.quit(), new Promise((r) => setTimeout(r, 1000))]);
  } catch {
    // already closing
  } finally {
    if ((redis.status as string) !== 'end') redis.disconnect();
  }
}
