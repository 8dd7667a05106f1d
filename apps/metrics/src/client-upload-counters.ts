import {
  CLIENT_UPLOAD_STATUSES,
  ClientUploadCounts,
  VOD_EVENT_RESULTS,
  VOD_EVENT_TYPES,
} from '@mediaferry/client-uploads';
import type { Logger } from '@mediaferry/telemetry';
import { Redis } from 'ioredis';
import { Counter, type Registry } from 'prom-client';

export interface ClientUploadCountersOptions {
  redisUrl: string;
  prefix: string;
  registry: Registry;
  /** A scrape waits at most this long for Redis; the counters keep their last values. @defaultValue 2000 */
  collectTimeoutMs?: number;
  logger?: Logger | undefined;
}

/**
 * `mediaferry_client_uploads_total{status}` and `mediaferry_vod_events_total{type,result}`, from the
 * totals every API replica adds to in Redis (`ClientUploadCounts`). Each scrape adds what the totals
 * grew by since the last one, so the exported counters only ever go up (a flushed Redis restarts the
 * totals; Prometheus sees no decrease).
 */
export class ClientUploadCounters {
  readonly #redis: Redis;
  readonly #counts: ClientUploadCounts;
  readonly #seen = new Map<string, number>();

  constructor(private readonly options: ClientUploadCountersOptions) {
    this.#redis = new Redis(options.redisUrl, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectionName: 'mediaferry-metrics-cu',
    });
    this.#redis.on('error', () => {});
    this.#counts = new ClientUploadCounts(this.#redis, options.prefix);
    const self = this;
    const uploads = new Counter({
      name: 'mediaferry_client_uploads_total',
      help: 'Client uploads that reached a status (issued, completed, rejected, expired, canceled), all API replicas.',
      labelNames: ['status'],
      registers: [options.registry],
      async collect() {
        await self.#sync(this as Counter<'status'>, events);
      },
    });
    const events = new Counter({
      name: 'mediaferry_vod_events_total',
      help: 'VOD upload events received by POST /v1/vod/events, by event type and result.',
      labelNames: ['type', 'result'],
      registers: [options.registry],
    });
    for (const s of CLIENT_UPLOAD_STATUSES) uploads.labels(s).inc(0);
    for (const t of VOD_EVENT_TYPES) for (const r of VOD_EVENT_RESULTS) events.labels(t, r).inc(0);
  }

  async #sync(uploads: Counter<'status'>, events: Counter<'type' | 'result'>): Promise<void> {
    try {
      if (this.#redis.status === 'wait') await this.#redis.connect().catch(() => undefined);
      let timer: NodeJS.Timeout | undefined;
      const totals = await Promise.race([
        this.#counts.read(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error('Redis did not answer')),
            this.options.collectTimeoutMs ?? 2000,
          );
        }),
      ]).finally(() => clearTimeout(timer));
      for (const [status, value] of totals.statuses)
        uploads.labels(status).inc(this.#delta(`s:${status}`, value));
      for (const [key, e] of totals.events)
        events.labels(e.type, e.result).inc(this.#delta(`e:${key}`, e.value));
    } catch (err) {
      this.options.logger?.debug({ err }, 'client-upload counters not refreshed');
    }
  }

  #delta(key: string, total: number): number {
    const last = this.#seen.get(key);
    this.#seen.set(key, total);
    if (last === undefined) return total;
    return total >= last ? total - last : total; // a reset Redis counts from zero again
  }

  async close(): Promise<void> {
    this.#redis.disconnect();
  }
}
