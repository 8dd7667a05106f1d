import {
  AccessDeniedError,
  CredentialsExpiredError,
  NetworkError,
  NoSuchUploadError,
  OwnershipLostError,
  StorageError,
  ThrottledError,
  TimeoutError,
  VodError,
} from '@mediaferry/core';
import { describe, expect, it } from 'vitest';
import { partRetryReason, type RetryReason, withRetries } from './part-uploader.js';

const fast = { baseMs: 1, maxMs: 4 };

function options(overrides: Partial<Parameters<typeof withRetries>[2]> = {}) {
  return {
    signal: new AbortController().signal,
    maxAttempts: 5,
    timeoutMs: 10_000,
    backoff: fast,
    ...overrides,
  };
}

describe('partRetryReason', () => {
  it('maps typed errors to metric reasons', () => {
    const econnreset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const cases: [unknown, RetryReason | null][] = [
      [new NetworkError('x'), 'network'],
      [econnreset, 'network'],
      [new StorageError('x', { status: 503 }), '5xx'],
      [new StorageError('x', { status: 429 }), 'throttled'],
      [new StorageError('x', { status: 400 }), null],
      [new ThrottledError('x', { retryAfterMs: 5 }), 'throttled'],
      [new TimeoutError('x'), 'timeout'],
      [new CredentialsExpiredError('x'), 'credentials'],
      [new VodError('x', { status: 502 }), '5xx'],
      [new AccessDeniedError('x'), null],
      [new NoSuchUploadError('x'), null],
      [new OwnershipLostError('x'), null],
      [new Error('plain bug'), null],
    ];
    for (const [err, reason] of cases) expect([err, partRetryReason(err)]).toEqual([err, reason]);
  });
});

describe('withRetries', () => {
  it('retries transient failures and returns the first success', async () => {
    const reasons: RetryReason[] = [];
    let calls = 0;
    const value = await withRetries(
      'op',
      async () => {
        calls++;
        if (calls === 1) throw new StorageError('busy', { status: 503 });
        if (calls === 2) throw new CredentialsExpiredError('refresh failed');
        return 'ok';
      },
      options({ onRetry: (r) => reasons.push(r) }),
    );
    expect(value).toBe('ok');
    expect(reasons).toEqual(['5xx', 'credentials']);
  });

  it('gives up after maxAttempts with the last error', async () => {
    let calls = 0;
    const p = withRetries(
      'op',
      async () => {
        calls++;
        throw new NetworkError(`fail ${calls}`);
      },
      options({ maxAttempts: 3 }),
    );
    await expect(p).rejects.toThrow('fail 3');
    expect(calls).toBe(3);
  });

  it('does not retry fatal errors', async () => {
    let calls = 0;
    const p = withRetries(
      'op',
      async () => {
        calls++;
        throw new AccessDeniedError('no');
      },
      options(),
    );
    await expect(p).rejects.toBeInstanceOf(AccessDeniedError);
    expect(calls).toBe(1);
  });

  it('honours Retry-After from a ThrottledError', async () => {
    const delays: number[] = [];
    let calls = 0;
    await withRetries(
      'op',
      async () => {
        if (calls++ === 0) throw new ThrottledError('slow down', { retryAfterMs: 30 });
        return 1;
      },
      options({ onRetry: (_r, _e, _a, d) => delays.push(d) }),
    );
    expect(delays).toEqual([30]);
  });

  it('aborts a stuck attempt at its deadline and retries it as a timeout', async () => {
    const reasons: RetryReason[] = [];
    let calls = 0;
    const value = await withRetries(
      'op',
      (signal) => {
        calls++;
        if (calls > 1) return Promise.resolve('second');
        return new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(new Error('aborted'))),
        );
      },
      options({ timeoutMs: 20, onRetry: (r) => reasons.push(r) }),
    );
    expect(value).toBe('second');
    expect(reasons).toEqual(['timeout']);
  });

  it('stops waiting at once when the signal aborts, with AbortError', async () => {
    const ac = new AbortController();
    const p = withRetries(
      'op',
      async () => {
        throw new NetworkError('down');
      },
      options({ signal: ac.signal, backoff: { baseMs: 60_000, maxMs: 60_000 }, onRetry: () => ac.abort() }),
    );
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
  });
});
