import { createRedis, type RedisClient, type RedisTarget } from '@mediaferry/queue';
import type { Logger } from '@mediaferry/telemetry';
import { Queue } from 'bullmq';
import { Gauge, Registry } from 'prom-client';
import { QueueEventCounters } from './queue-event-counters.js';
import { QUEUE_STATES, type QueueSnapshot, readQueueSnapshot } from './queue-snapshot.js';
import type { WatchedQueue } from './watched-queues.js';

export interface QueueMetricsOptions {
  /** A Redis URL or the config's `redis` (standalone, Sentinel or Cluster). */
  redis: string | RedisTarget;
  /** BullMQ key prefix of queues given by name only. @defaultValue 'mediaferry' */
  prefix?: string;
  /**
   * Queues to watch: a name (under `prefix`) or a name and its own prefix. Several entries of one
   * name (upload shards) are reported as one queue: counts summed, the oldest wait the maximum.
   */
  queues: readonly (string | WatchedQueue)[];
  /** @defaultValue a new Registry */
  registry?: Registry;
  /** A scrape waits at most this long for Redis, then reports `redis_up 0`. @defaultValue 2000 */
  collectTimeoutMs?: number;
  logger?: Logger | undefined;
  /** Clock for ages (ms since epoch). @defaultValue Date.now */
  now?: () => number;
}

export interface QueueMetrics {
  readonly registry: Registry;
  /** Resolves once the event readers run (completed/failed counting has started). */
  ready(): Promise<void>;
  /** Whether the last Redis check succeeded (for logs and probes; never blocks). */
  readonly redisUp: boolean;
  close(): Promise<void>;
}

interface Snapshot {
  redisUp: boolean;
  queues: QueueSnapshot[];
}

class CollectTimeout extends Error {
  override name = 'CollectTimeout';
}

/** Runs `work` with a deadline; its signal aborts when the deadline passes. */
async function withTimeout<T>(work: (signal: AbortSignal) => Promise<T>, ms: number): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new CollectTimeout(`Redis did not answer within ${ms} ms`);
      controller.abort(err);
      reject(err);
    }, ms);
  });
  try {
    return await Promise.race([work(controller.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits for the connection to be usable (it is not while (re)connecting), until `signal` aborts. */
async function connectionReady(connection: RedisClient, signal: AbortSignal): Promise<void> {
  if (connection.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const done = () => {
      signal.removeEventListener('abort', done);
      connection.off('ready', done);
      if (signal.aborted) reject(signal.reason);
      else resolve();
    };
    connection.once('ready', done);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The snapshots of one queue's shards as one: counts summed, oldest wait the maximum, paused if any is. */
export function mergeShards(snapshots: readonly QueueSnapshot[]): QueueSnapshot[] {
  const merged = new Map<string, QueueSnapshot>();
  for (const s of snapshots) {
    const into = merged.get(s.queue);
    if (!into) {
      merged.set(s.queue, { ...s, counts: { ...s.counts } });
      continue;
    }
    for (const state of QUEUE_STATES) into.counts[state] += s.counts[state];
    into.oldestWaitingSeconds = Math.max(into.oldestWaitingSeconds, s.oldestWaitingSeconds);
    into.paused ||= s.paused;
  }
  return [...merged.values()];
}

/**
 * Queue-level metrics for Prometheus, read from Redis on each scrape (prom-client `collect()`):
 * `mediaferry_queue_jobs{queue,state}`, `mediaferry_queue_oldest_waiting_seconds{queue}`,
 * `mediaferry_queue_paused{queue}`, `mediaferry_queue_redis_up`, plus event-stream counters
 * (see QueueEventCounters). A Redis outage never throws out of a scrape: it reports
 * `mediaferry_queue_redis_up 0`, drops the queue series (no stale numbers), and recovers by itself.
 */
export function createQueueMetrics(options: QueueMetricsOptions): QueueMetrics {
  const registry = options.registry ?? new Registry();
  const prefix = options.prefix ?? 'mediaferry';
  const timeoutMs = options.collectTimeoutMs ?? 2000;
  const now = options.now ?? Date.now;
  const log = options.logger;
  const registers = [registry];

  // Fail fast while disconnected (no offline queue) so a scrape never waits on a dead Redis; keep
  // reconnecting forever with a short backoff so the service recovers as soon as Redis is back.
  // `maxRetriesPerRequest: null` because BullMQ's event readers duplicate this connection and block.
  // The worker role (offline queue, `maxRetriesPerRequest: null`) because BullMQ's event readers
  // duplicate this connection and block; a scrape still never waits on a dead Redis: it checks the
  // connection first and has a deadline. Reconnects forever with a short backoff.
  const connection = createRedis(options.redis, {
    role: 'worker',
    connectionName: 'mediaferry-metrics',
    maxReconnectDelayMs: 2000,
    logger: log
      ? { debug: () => {}, info: () => {}, warn: (o, m) => log.debug(o, m), error: (o, m) => log.debug(o, m) }
      : undefined,
  });
  let redisUp = false;

  const watched: WatchedQueue[] = options.queues.map((q) =>
    typeof q === 'string' ? { name: q, prefix } : q,
  );
  const idOf = (q: WatchedQueue) => `${q.prefix}\u0000${q.name}`;
  const queues = new Map<string, Queue>();
  const openQueue = (q: WatchedQueue) => {
    const queue = new Queue(q.name, { connection, prefix: q.prefix });
    queue.on('error', (err) => log?.debug({ err, queue: q.name }, 'queue error'));
    queues.set(idOf(q), queue);
    return queue;
  };
  for (const q of watched) openQueue(q);
  const counters = new QueueEventCounters({ connection, queues: watched, registry, logger: log });

  const readQueue = async (q: WatchedQueue): Promise<QueueSnapshot> => {
    const queue = queues.get(idOf(q)) ?? openQueue(q);
    try {
      return await readQueueSnapshot(queue, now());
    } catch (err) {
      // A Queue whose initialisation failed (Redis dropped mid-handshake) stays broken: replace it.
      if (!(err instanceof CollectTimeout)) {
        queues.delete(idOf(q));
        queue.close().catch(() => {});
      }
      throw err;
    }
  };

  const collect = async (): Promise<Snapshot> => {
    counters.ensureRunning();
    try {
      const snapshot = await withTimeout(async (signal) => {
        await connectionReady(connection, signal);
        await connection.ping();
        return { redisUp: true, queues: mergeShards(await Promise.all(watched.map(readQueue))) };
      }, timeoutMs);
      if (!redisUp) log?.info('redis reachable: queue metrics available');
      redisUp = true;
      return snapshot;
    } catch (err) {
      if (redisUp) log?.warn({ err }, 'redis unreachable: reporting mediaferry_queue_redis_up 0');
      redisUp = false;
      return { redisUp: false, queues: [] };
    }
  };

  // All gauges are filled from one snapshot per scrape: the first collect() starts it, the others
  // (run by the same registry.metrics() call) reuse it.
  let current: Promise<Snapshot> | undefined;
  const snapshot = () => {
    if (!current) {
      current = collect();
      current.finally(() => setImmediate(() => (current = undefined))).catch(() => {});
    }
    return current;
  };

  new Gauge({
    name: 'mediaferry_queue_jobs',
    help: 'Jobs in each BullMQ state, per queue (absent while Redis is unreachable).',
    labelNames: ['queue', 'state'],
    registers,
    async collect() {
      const s = await snapshot();
      this.reset();
      for (const q of s.queues)
        for (const state of QUEUE_STATES) this.labels(q.queue, state).set(q.counts[state]);
    },
  });
  new Gauge({
    name: 'mediaferry_queue_oldest_waiting_seconds',
    help: 'Age of the oldest job waiting for a worker (waiting list and prioritized set); 0 when none waits.',
    labelNames: ['queue'],
    registers,
    async collect() {
      const s = await snapshot();
      this.reset();
      for (const q of s.queues) this.labels(q.queue).set(q.oldestWaitingSeconds);
    },
  });
  new Gauge({
    name: 'mediaferry_queue_paused',
    help: '1 when the queue is paused (its jobs wait on purpose), else 0.',
    labelNames: ['queue'],
    registers,
    async collect() {
      const s = await snapshot();
      this.reset();
      for (const q of s.queues) this.labels(q.queue).set(q.paused ? 1 : 0);
    },
  });
  new Gauge({
    name: 'mediaferry_queue_redis_up',
    help: '1 when the metrics service read the queues from Redis at this scrape, else 0.',
    registers,
    async collect() {
      this.set((await snapshot()).redisUp ? 1 : 0);
    },
  });

  let closing: Promise<void> | undefined;
  return {
    registry,
    ready: () => counters.ready(),
    get redisUp() {
      return redisUp;
    },
    close: () => {
      closing ??= (async () => {
        await counters.close();
        await Promise.allSettled([...queues.values()].map((q) => q.close()));
        connection.disconnect();
      })();
      return closing;
    },
  };
}
