import type { JobProgress, JobStatus } from '@mediaferry/core';
import type { QueueLogger, RedisClient } from './redis-connection.js';
import type { StoreKeys } from './store-keys.js';

/** What travels on a job's event channel. A `status` event means "re-read the record". */
export type JobEvent = { type: 'progress'; progress: JobProgress } | { type: 'status'; status: JobStatus };

export type Unsubscribe = () => Promise<void>;

function parseEvent(message: string): JobEvent | null {
  try {
    const event = JSON.parse(message) as JobEvent;
    return event.type === 'progress' || event.type === 'status' ? event : null;
  } catch {
    return null;
  }
}

/**
 * Listens on Redis pub/sub with one subscriber connection per process, whatever the number of
 * listeners: job event channels (SSE) and the cancel channel (workers). Channels are subscribed
 * while at least one listener wants them; ioredis resubscribes after a reconnect.
 */
export class JobEventBus {
  private readonly listeners = new Map<string, Set<(message: string) => void>>();
  private readonly subscribing = new Map<string, Promise<void>>();
  private closing: Promise<void> | undefined;

  constructor(
    private readonly subscriber: RedisClient,
    private readonly keys: StoreKeys,
    private readonly logger?: QueueLogger,
  ) {
    subscriber.on('message', (channel: string, message: string) => {
      for (const listener of this.listeners.get(channel) ?? []) {
        try {
          listener(message);
        } catch (err) {
          this.logger?.error({ err, channel }, 'job event listener failed');
        }
      }
    });
  }

  /** Calls `listener` with each progress/status event of job `id` until the returned function runs. */
  async subscribeJob(id: string, listener: (event: JobEvent) => void): Promise<Unsubscribe> {
    return await this.listen(this.keys.events(id), (message) => {
      const event = parseEvent(message);
      if (event) listener(event);
    });
  }

  /** Calls `listener` with the id of every job canceled anywhere (workers stop it if they run it). */
  async onCancel(listener: (jobId: string) => void): Promise<Unsubscribe> {
    return await this.listen(this.keys.cancelChannel, listener);
  }

  private async listen(channel: string, listener: (message: string) => void): Promise<Unsubscribe> {
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
    }
    set.add(listener);
    // Every listener waits for the one SUBSCRIBE of its channel, so none returns before it holds.
    let pending = this.subscribing.get(channel);
    if (!pending) {
      pending = this.subscriber.subscribe(channel).then(() => undefined);
      this.subscribing.set(channel, pending);
    }
    try {
      await pending;
    } catch (err) {
      this.subscribing.delete(channel);
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(channel);
      throw err;
    }
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      const current = this.listeners.get(channel);
      if (!current?.delete(listener) || current.size > 0) return;
      this.listeners.delete(channel);
      this.subscribing.delete(channel);
      if (this.subscriber.status === 'ready') await this.subscriber.unsubscribe(channel).catch(() => {});
      // While reconnecting, queue the UNSUBSCRIBE (the subscriber role keeps an offline queue) without
      // waiting for it: ioredis resubscribes every channel it knows on reconnect, this one included.
      else if (this.subscriber.status !== 'end') void this.subscriber.unsubscribe(channel).catch(() => {});
    };
  }

  /** True while the subscriber connection is up, i.e. a new subscription takes effect at once. */
  get ready(): boolean {
    return this.subscriber.status === 'ready' && this.closing === undefined;
  }

  /** Drops every listener and closes the subscriber connection. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.listeners.clear();
      this.subscribing.clear();
      try {
        if (this.subscriber.status === 'ready') await this.subscriber.quit();
      } catch {
        // already gone
      } finally {
        this.subscriber.disconnect();
      }
    })();
    return this.closing;
  }
}
