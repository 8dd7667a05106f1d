import type { RedisClient } from '@mediaferry/queue';
import type { Logger } from '@mediaferry/telemetry';
import { QueueEvents } from 'bullmq';
import { Counter, type Registry } from 'prom-client';
import type { WatchedQueue } from './watched-queues.js';

export interface QueueEventCountersOptions {
  /** Template connection: BullMQ duplicates it for each blocking event reader. */
  connection: RedisClient;
  /** Queues (upload shards each with their own prefix); counted under their name. */
  queues: readonly WatchedQueue[];
  registry: Registry;
  logger?: Logger | undefined;
}

/**
 * `mediaferry_queue_{completed,failed,stalled}_total{queue}` from each queue's BullMQ event stream.
 * The stream holds every worker's events, so ONE metrics-service instance counts them all, whatever
 * the number of workers. Counts start at 0 when the service starts (Prometheus handles the reset);
 * reading resumes from the last seen event after a Redis outage, so an outage loses nothing.
 */
export class QueueEventCounters {
  private readonly readers = new Map<WatchedQueue, QueueEvents>();
  private readonly starting = new Map<WatchedQueue, Promise<void>>();
  private readonly completed: Counter<'queue'>;
  private readonly failed: Counter<'queue'>;
  private readonly stalled: Counter<'queue'>;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: QueueEventCountersOptions) {
    const registers = [options.registry];
    this.completed = new Counter({
      name: 'mediaferry_queue_completed_total',
      help: 'Jobs that completed (final), counted from the queue event stream by the metrics service.',
      labelNames: ['queue'],
      registers,
    });
    this.failed = new Counter({
      name: 'mediaferry_queue_failed_total',
      help: 'Jobs that failed for good (retries exhausted or unrecoverable), from the queue event stream.',
      labelNames: ['queue'],
      registers,
    });
    this.stalled = new Counter({
      name: 'mediaferry_queue_stalled_total',
      help: 'Jobs whose worker lost its lock (crash, event-loop stall) and went back to waiting.',
      labelNames: ['queue'],
      registers,
    });
    for (const queue of options.queues) {
      for (const c of [this.completed, this.failed, this.stalled]) c.labels(queue.name).inc(0);
    }
    this.ensureRunning();
  }

  /** Resolves once every queue's reader has started (events from then on are counted). */
  async ready(): Promise<void> {
    await Promise.all(this.starting.values());
  }

  /** Starts readers that are not running (first call, or one that died); cheap, called on every scrape. */
  ensureRunning(): void {
    if (this.closing) return;
    for (const queue of this.options.queues) {
      if (this.readers.has(queue) || this.starting.has(queue)) continue;
      const start = this.start(queue).finally(() => this.starting.delete(queue));
      this.starting.set(queue, start);
    }
  }

  private async waitForConnection(): Promise<void> {
    const conn = this.options.connection;
    while (!this.closing && conn.status !== 'ready') {
      if (conn.status === 'end') throw new Error('Redis connection closed');
      await new Promise<void>((resolve) => {
        const done = () => {
          conn.off('ready', done);
          conn.off('end', done);
          clearTimeout(timer);
          resolve();
        };
        // The timer lets close() end the wait even if Redis never comes back.
        const timer = setTimeout(done, 500);
        conn.once('ready', done);
        conn.once('end', done);
      });
    }
  }

  /** The stream's newest id, so counting starts now and misses nothing between startup and XREAD. */
  private async lastEventId(queue: WatchedQueue): Promise<string> {
    const key = `${queue.prefix}:${queue.name}:events`;
    const [newest] = await this.options.connection.xrevrange(key, '+', '-', 'COUNT', 1);
    return newest?.[0] ?? '0-0';
  }

  private async start(queue: WatchedQueue): Promise<void> {
    const log = this.options.logger;
    let lastEventId: string;
    try {
      await this.waitForConnection();
      if (this.closing) return;
      lastEventId = await this.lastEventId(queue);
    } catch (err) {
      // Retried on the next scrape (ensureRunning) rather than counting from an unknown point.
      log?.debug({ err, queue: queue.name }, 'queue event reader not started yet');
      return;
    }
    const events = new QueueEvents(queue.name, {
      connection: this.options.connection,
      prefix: queue.prefix,
      autorun: false,
      lastEventId,
    });
    // Connection errors repeat every reconnect attempt during an outage; the collector logs the outage once.
    events.on('error', (err) => log?.debug({ err, queue: queue.name }, 'queue event reader error'));
    events.on('completed', () => this.completed.labels(queue.name).inc());
    events.on('failed', () => this.failed.labels(queue.name).inc());
    events.on('stalled', () => this.stalled.labels(queue.name).inc());
    this.readers.set(queue, events);
    events.run().catch((err: unknown) => {
      if (this.closing) return;
      log?.warn({ err, queue: queue.name }, 'queue event reader stopped; restarting on the next scrape');
      this.readers.delete(queue);
      events.close().catch(() => {});
    });
  }

  /** Stops every reader. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled(this.starting.values());
      await Promise.allSettled([...this.readers.values()].map((r) => r.close()));
      this.readers.clear();
    })();
    return this.closing;
  }
}
