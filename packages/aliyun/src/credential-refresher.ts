import { raceSignal } from './abort.js';

/**
 * Holds one expiring value (an OSS client bound to an STS credential) and refreshes it single-flight:
 * however many parts notice expiry at once, one fetch runs and all of them share its result.
 * Each value has a generation; a caller that failed with generation g asks `refresh(g)`, and gets the
 * newer value without a second fetch when someone already refreshed past g.
 */

export type RefreshReason = 'ahead-of-expiry' | 'expired';

export interface CredentialLease<T> {
  readonly value: T;
  /** Increments with every successful refresh, starting at 1. */
  readonly generation: number;
  readonly obtainedAt: number;
  /** ms since epoch; null when the value never expires. */
  readonly expiresAt: number | null;
}

export interface RefreshEvent {
  reason: RefreshReason;
  generation: number;
  durationMs: number;
}

export interface CredentialRefresherOptions<T> {
  /** Obtains a fresh value. Never runs twice at the same time. */
  fetch: (reason: RefreshReason) => Promise<T>;
  /** When a value expires; null = never. */
  expiresAt: (value: T) => Date | null;
  /**
   * Refresh ahead when less than this many ms of validity remain, given the value's lifetime.
   * @defaultValue `min(5 minutes, 10% of the lifetime)`: 5 min for VOD's 3000 s credentials, and sane
   *   for the short-lived ones tests use.
   */
  refreshAheadMs?: (lifetimeMs: number) => number;
  /** Called after each successful refresh (metrics, logs). */
  onRefresh?: (event: RefreshEvent) => void;
  /** @defaultValue Date.now */
  now?: () => number;
}

export const defaultRefreshAheadMs = (lifetimeMs: number): number => Math.min(5 * 60_000, lifetimeMs * 0.1);

/** Pause between refreshes ahead of expiry after one failed (the current value is still valid). */
const AHEAD_RETRY_MS = 5_000;

export class CredentialRefresher<T> {
  #lease: CredentialLease<T>;
  #aheadFailedAt: number | null = null;
  #inflight: Promise<CredentialLease<T>> | null = null;
  #refreshes = 0;
  readonly #options: CredentialRefresherOptions<T>;
  readonly #now: () => number;

  constructor(initial: T, options: CredentialRefresherOptions<T>) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#lease = this.#makeLease(initial, 1);
  }

  /** The value in use, fresh or not. */
  current(): CredentialLease<T> {
    return this.#lease;
  }

  /** Successful refreshes so far. */
  get refreshCount(): number {
    return this.#refreshes;
  }

  /** Whether the current value is within the refresh-ahead window (or past expiry). */
  needsRefresh(lease: CredentialLease<T> = this.#lease): boolean {
    if (lease.expiresAt === null) return false;
    const lifetime = Math.max(0, lease.expiresAt - lease.obtainedAt);
    const ahead = (this.#options.refreshAheadMs ?? defaultRefreshAheadMs)(lifetime);
    return lease.expiresAt - this.#now() <= ahead;
  }

  isExpired(lease: CredentialLease<T> = this.#lease): boolean {
    return lease.expiresAt !== null && lease.expiresAt <= this.#now();
  }

  /**
   * The value to use for the next operation. Within the refresh-ahead window the current value is still
   * valid: it is returned at once while a refresh runs in the background (a slow or failing VOD never
   * holds an operation up; after a failure the next try waits `AHEAD_RETRY_MS`). Only an expired value
   * waits for the refresh, whose error is then thrown.
   */
  async acquire(signal?: AbortSignal): Promise<CredentialLease<T>> {
    const lease = this.#lease;
    if (!this.needsRefresh(lease)) return lease;
    if (this.isExpired(lease)) return await this.refresh(lease.generation, 'expired', signal);
    const failedAt = this.#aheadFailedAt;
    if (failedAt === null || this.#now() - failedAt >= AHEAD_RETRY_MS) {
      this.refresh(lease.generation, 'ahead-of-expiry').catch(() => {
        this.#aheadFailedAt = this.#now();
      });
    }
    return lease;
  }

  /**
   * A value newer than `staleGeneration`: the current one when someone already refreshed, else the
   * result of the (single, shared) fetch. The fetch is not tied to the caller's signal, so one caller
   * giving up never fails the others; the signal only stops this caller's wait.
   */
  refresh(staleGeneration: number, reason: RefreshReason, signal?: AbortSignal): Promise<CredentialLease<T>> {
    if (this.#lease.generation > staleGeneration) return Promise.resolve(this.#lease);
    if (!this.#inflight) {
      const started = this.#now();
      const run = (async () => {
        const value = await this.#options.fetch(reason);
        const lease = this.#makeLease(value, this.#lease.generation + 1);
        this.#lease = lease;
        this.#refreshes += 1;
        this.#options.onRefresh?.({
          reason,
          generation: lease.generation,
          durationMs: this.#now() - started,
        });
        return lease;
      })();
      this.#inflight = run;
      // Clear on either outcome so a failed refresh can be tried again.
      run.then(
        () => {
          this.#inflight = null;
        },
        () => {
          this.#inflight = null;
        },
      );
    }
    return raceSignal(this.#inflight, signal, 'Credential refresh');
  }

  /** Installs a value obtained elsewhere (e.g. a reattach) as a new generation. */
  replace(value: T): CredentialLease<T> {
    this.#lease = this.#makeLease(value, this.#lease.generation + 1);
    return this.#lease;
  }

  #makeLease(value: T, generation: number): CredentialLease<T> {
    const expiresAt = this.#options.expiresAt(value);
    return { value, generation, obtainedAt: this.#now(), expiresAt: expiresAt ? expiresAt.getTime() : null };
  }
}
