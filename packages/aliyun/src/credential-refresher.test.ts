import { AbortError } from '@mediaferry/core';
import { describe, expect, it } from 'vitest';
import { CredentialRefresher, defaultRefreshAheadMs } from './credential-refresher.js';

/** A value that expires at a chosen instant, as an STS-bound client does. */
interface Cred {
  id: number;
  expiresAt: Date;
}

function setup(options: { lifetimeMs?: number; failFetch?: boolean } = {}) {
  let now = 1_000_000;
  let next = 2;
  const lifetime = options.lifetimeMs ?? 3_000_000;
  const fetches: string[] = [];
  let release: (() => void) | null = null;
  let gate: Promise<void> | null = null;
  const refresher = new CredentialRefresher<Cred>(
    { id: 1, expiresAt: new Date(now + lifetime) },
    {
      now: () => now,
      expiresAt: (c) => c.expiresAt,
      fetch: async (reason) => {
        fetches.push(reason);
        if (gate) await gate;
        if (options.failFetch) throw new Error('VOD down');
        return { id: next++, expiresAt: new Date(now + lifetime) };
      },
    },
  );
  return {
    refresher,
    fetches,
    advance(ms: number) {
      now += ms;
    },
    hold() {
      gate = new Promise<void>((r) => {
        release = r;
      });
    },
    release() {
      gate = null;
      release?.();
    },
  };
}

describe('CredentialRefresher', () => {
  it('refreshes ahead of expiry: min(5 min, 10% of the lifetime)', async () => {
    expect(defaultRefreshAheadMs(3_000_000)).toBe(300_000);
    expect(defaultRefreshAheadMs(60_000)).toBe(6_000);
    const t = setup({ lifetimeMs: 3_000_000 });
    expect((await t.refresher.acquire()).value.id).toBe(1);
    t.advance(3_000_000 - 300_001);
    expect((await t.refresher.acquire()).value.id).toBe(1);
    t.advance(2);
    // Still valid: used at once while the refresh runs.
    expect((await t.refresher.acquire()).value.id).toBe(1);
    await new Promise((r) => setImmediate(r));
    const lease = await t.refresher.acquire();
    expect(lease.value.id).toBe(2);
    expect(lease.generation).toBe(2);
    expect(t.fetches).toEqual(['ahead-of-expiry']);
  });

  it('never holds an operation up for a slow refresh ahead of expiry; an expired value waits', async () => {
    const t = setup({ lifetimeMs: 100_000 });
    t.hold();
    t.advance(95_000);
    for (let i = 0; i < 5; i++) expect((await t.refresher.acquire()).value.id).toBe(1);
    expect(t.fetches).toEqual(['ahead-of-expiry']);
    t.advance(10_000);
    const expired = t.refresher.acquire();
    t.release();
    expect((await expired).value.id).toBe(2);
    expect(t.fetches).toEqual(['ahead-of-expiry']); // the wait joined the fetch in flight
  });

  it('runs one fetch for many concurrent callers with the same stale generation', async () => {
    const t = setup();
    t.hold();
    const waiting = Array.from({ length: 8 }, () => t.refresher.refresh(1, 'expired'));
    t.release();
    const leases = await Promise.all(waiting);
    expect(new Set(leases.map((l) => l.value.id))).toEqual(new Set([2]));
    expect(t.fetches).toEqual(['expired']);
    // A caller that saw generation 1 fail after the refresh gets generation 2 without a new fetch.
    expect((await t.refresher.refresh(1, 'expired')).value.id).toBe(2);
    expect(t.fetches).toHaveLength(1);
    expect(t.refresher.refreshCount).toBe(1);
  });

  it('keeps the current value when a refresh ahead of expiry fails, and throws once it expired', async () => {
    const t = setup({ lifetimeMs: 100_000, failFetch: true });
    t.advance(95_000);
    expect((await t.refresher.acquire()).value.id).toBe(1);
    await new Promise((r) => setImmediate(r));
    // Right after a failure the value is used without another try.
    expect((await t.refresher.acquire()).value.id).toBe(1);
    expect(t.fetches).toEqual(['ahead-of-expiry']);
    t.advance(10_000);
    await expect(t.refresher.acquire()).rejects.toThrow('VOD down');
    // A failed refresh is not cached: the next call tries again.
    await expect(t.refresher.refresh(1, 'expired')).rejects.toThrow('VOD down');
    expect(t.fetches.length).toBe(3);
  });

  it("lets one caller's abort end only its own wait", async () => {
    const t = setup();
    t.hold();
    const controller = new AbortController();
    const aborted = t.refresher.refresh(1, 'expired', controller.signal);
    const other = t.refresher.refresh(1, 'expired');
    controller.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortError);
    t.release();
    expect((await other).value.id).toBe(2);
    expect(t.fetches).toHaveLength(1);
  });

  it('never refreshes a value without expiry', async () => {
    const refresher = new CredentialRefresher('account-key', {
      expiresAt: () => null,
      fetch: async () => {
        throw new Error('must not be called');
      },
    });
    expect((await refresher.acquire()).value).toBe('account-key');
    expect(refresher.needsRefresh()).toBe(false);
  });
});
