import { createHash } from 'node:crypto';

const sha = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

/**
 * Every Redis key of client uploads, built in this one place. A service's records, indexes,
 * idempotency keys and quota counters share the hash tag `{cu:<service>}`, so each Lua script
 * touches one hash slot (Redis Cluster ready) while services spread over slots. Keys looked up
 * without knowing the service (media → upload, tickets, event replays, the reconciler lock) stand alone.
 */
export class ClientUploadKeys {
  constructor(readonly prefix: string) {}

  /** Prefix of every key of one service: `<prefix>:cu:{cu:<service>}:`. Scripts derive index names from it. */
  service(service: string): string {
    return `${this.prefix}:cu:{cu:${service}}:`;
  }

  /** Hash: the record of one upload. */
  record(service: string, id: string): string {
    return `${this.service(service)}r:${id}`;
  }

  /** String → upload id. Hashed: the caller's key is free text. */
  idempotency(service: string, key: string): string {
    return `${this.service(service)}idem:${sha(key)}`;
  }

  /** Hashed end-user id, as used in index and quota key names. */
  static endUser(endUserId: string): string {
    return sha(endUserId).slice(0, 32);
  }

  /** String `<service>\n<id>`: which upload a VOD media belongs to. */
  media(mediaId: string): string {
    return `${this.prefix}:cu-media:${mediaId}`;
  }

  /** String: a redeemed ticket's id (kept until the ticket would have expired). */
  ticket(ticketId: string): string {
    return `${this.prefix}:cu-ticket:${ticketId}`;
  }

  /** String: a VOD event already seen (signature + body digest). */
  vodEvent(digest: string): string {
    return `${this.prefix}:cu-vodevt:${digest}`;
  }

  /** Hash of running totals (`status:<s>`, `event:<type>:<result>`) the metrics service exports. */
  metrics(): string {
    return `${this.prefix}:cu-metrics`;
  }

  /** String: the lease of the replica running the reconciler pass. */
  reconcilerLock(): string {
    return `${this.prefix}:cu-reconciler`;
  }
}

/*
 * Per-service keys the scripts derive from `service(s)` (all in the `{cu:<service>}` slot):
 *   r:<id>            record hash
 *   idem:<sha>        idempotency key → id
 *   all               zset of ids (score 0, lex order = time order)
 *   s:<status>        zset of ids per status
 *   u:<user>          zset of ids per end user
 *   open              zset of open (issued) ids, score = deadline ms
 *   uopen:<user>      set of an end user's open ids
 *   ubytes:<user>:<d> declared bytes issued to an end user on UTC day d
 *   rpm:<minute>      requests of the current minute
 */
