import type { RedisClient as Redis } from '@mediaferry/queue';
import { CLIENT_UPLOAD_STATUSES, type ClientUploadStatus } from './client-upload-record.js';
import { ClientUploadKeys } from './keys.js';

export const VOD_EVENT_TYPES = [
  'FileUploadComplete',
  'ImageUploadComplete',
  'AttachedMediaUploadComplete',
  'other',
] as const;
export const VOD_EVENT_RESULTS = [
  'accepted',
  'bad_signature',
  'stale',
  'replay',
  'unknown_media',
  'ignored',
] as const;
export type VodEventResultLabel = (typeof VOD_EVENT_RESULTS)[number];

/**
 * Running totals of client-upload outcomes and VOD events, kept in one Redis hash so that every API
 * replica adds to the same numbers and the metrics service exports them (one scrape target, totals
 * that survive API restarts). Writes are fire-and-forget: a metric never fails a request.
 */
export class ClientUploadCounts {
  readonly #key: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.#key = new ClientUploadKeys(prefix).metrics();
  }

  status(status: ClientUploadStatus): void {
    this.redis.hincrby(this.#key, `status:${status}`, 1).catch(() => undefined);
  }

  vodEvent(type: string, result: VodEventResultLabel): void {
    const t = (VOD_EVENT_TYPES as readonly string[]).includes(type) ? type : 'other';
    this.redis.hincrby(this.#key, `event:${t}:${result}`, 1).catch(() => undefined);
  }

  /** Totals by label set (only known label values, so a hostile writer cannot blow up cardinality). */
  async read(): Promise<{
    statuses: Map<ClientUploadStatus, number>;
    events: Map<string, { type: string; result: string; value: number }>;
  }> {
    const hash = await this.redis.hgetall(this.#key);
    const statuses = new Map<ClientUploadStatus, number>();
    const events = new Map<string, { type: string; result: string; value: number }>();
    for (const [field, raw] of Object.entries(hash)) {
      const value = Number(raw);
      if (!Number.isFinite(value)) continue;
      const [kind, a, b] = field.split(':');
      if (kind === 'status' && (CLIENT_UPLOAD_STATUSES as readonly string[]).includes(a ?? '')) {
        statuses.set(a as ClientUploadStatus, value);
      } else if (
        kind === 'event' &&
        (VOD_EVENT_TYPES as readonly string[]).includes(a ?? '') &&
        (VOD_EVENT_RESULTS as readonly string[]).includes(b ?? '')
      ) {
        events.set(`${a}:${b}`, { type: a as string, result: b as string, value });
      }
    }
    return { statuses, events };
  }
}
