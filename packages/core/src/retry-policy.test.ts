import { describe, expect, it } from 'vitest';
import {
  AbortError,
  CredentialsExpiredError,
  classify,
  NetworkError,
  NoSuchUploadError,
  OwnershipLostError,
  SourceNotFoundError,
  SourceUnavailableError,
  StorageError,
  ThrottledError,
  TimeoutError,
  VodError,
} from './errors.js';
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  decideRetry,
  parseRetryAfter,
  retryPolicy,
} from './retry-policy.js';

const op = (err: unknown) => decideRetry(err, { scope: 'operation' });
const job = (err: unknown) => decideRetry(err, { scope: 'job' });

describe('the retry policy', () => {
  it('gives the engine (operation) and the worker (job, via classify) the same answer', () => {
    const cases: Array<[unknown, boolean]> = [
      [new TypeError('a bug'), false],
      ['a thrown string', false],
      [Object.assign(new Error('reset'), { code: 'ECONNRESET' }), true],
      [Object.assign(new Error('weird'), { code: 'EWEIRD' }), false],
      [new NetworkError('down'), true],
      [new TimeoutError('slow'), true],
      [new ThrottledError('slow down'), true],
      [new StorageError('boom', { status: 503 }), true],
      [new StorageError('slow down', { status: 429 }), true],
      [new StorageError('bad', { status: 400 }), false],
      [new VodError('bad', { status: 400 }), false],
      [new SourceNotFoundError('gone'), false],
      [new SourceUnavailableError('later'), true],
      [new CredentialsExpiredError('expired'), true],
      [new AbortError(), false],
      [new OwnershipLostError('taken'), false],
    ];
    for (const [err, retryable] of cases) {
      expect({ err: String(err), op: op(err).retryable }).toEqual({ err: String(err), op: retryable });
      expect({ err: String(err), job: classify(err).retryable }).toEqual({
        err: String(err),
        job: retryable,
      });
    }
  });

  it('names the reason', () => {
    expect(op(new TimeoutError('x')).reason).toBe('timeout');
    expect(op(new StorageError('x', { status: 429 })).reason).toBe('throttled');
    expect(op(new StorageError('x', { status: 502 })).reason).toBe('5xx');
    expect(op(Object.assign(new Error('x'), { code: 'UND_ERR_SOCKET' })).reason).toBe('network');
    expect(op(new SourceUnavailableError('x')).reason).toBe('source');
    expect(op(new CredentialsExpiredError('x')).reason).toBe('credentials');
    expect(op(new TypeError('x'))).toEqual({ retryable: false, reason: 'fatal', delayMs: 0 });
  });

  it('retries a Redis that is away or failing over (a cluster electing a replica) as a network error', () => {
    for (const message of [
      'Too many Cluster redirections. Last error: ReplyError: MOVED 13240 127.0.0.1:43383',
      'CLUSTERDOWN The cluster is down',
      'READONLY You cannot write against a read only replica.',
      'Connection is closed.',
    ]) {
      expect(op(new Error(message)).reason).toBe('network');
      expect(classify(new Error(message))).toMatchObject({ code: 'NETWORK_ERROR', retryable: true });
    }
  });

  it('does not retry in place what only a new attempt can fix', () => {
    const image = new CredentialsExpiredError('image credential', {
      details: { refreshable: false, mediaType: 'image' },
    });
    expect(op(image).retryable).toBe(false);
    expect(job(image)).toMatchObject({ retryable: true, reason: 'credentials' });
    expect(op(new NoSuchUploadError('gone')).retryable).toBe(false);
    expect(job(new NoSuchUploadError('gone')).retryable).toBe(true);
  });

  it("waits with backoff, at least the server's Retry-After (capped)", () => {
    const d1 = decideRetry(new NetworkError('x'), { attempt: 1 }).delayMs;
    expect(d1).toBeGreaterThanOrEqual(100);
    expect(d1).toBeLessThanOrEqual(200);
    expect(decideRetry(new ThrottledError('x', { retryAfterMs: 7000 }), { attempt: 1 }).delayMs).toBe(7000);
    expect(
      decideRetry(new StorageError('x', { status: 503, details: { retryAfterMs: 3000 } }), { attempt: 1 })
        .delayMs,
    ).toBe(3000);
    expect(decideRetry(new ThrottledError('x', { retryAfterMs: 86_400_000 })).delayMs).toBe(300_000);
    expect(backoffDelay(20, { baseMs: 200, maxMs: 20_000 }, undefined, () => 1)).toBe(20_000);
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter('Thu, 01 Jan 1970 00:00:10 GMT', 0)).toBe(10_000);
  });

  it('is data plus one overridable function', () => {
    const withUnknown = retryPolicy({ retryUnknown: true });
    expect(decideRetry(new TypeError('x'), { policy: withUnknown }).retryable).toBe(true);
    const no5xx = retryPolicy({ statusCodes: new Set([429]) });
    expect(decideRetry(Object.assign(new Error('x'), { status: 503 }), { policy: no5xx }).retryable).toBe(
      false,
    );
    expect(decideRetry(Object.assign(new Error('x'), { status: 503 })).retryable).toBe(true);
    const never = retryPolicy({ decide: () => ({ retryable: false, reason: 'fatal', delayMs: 0 }) });
    expect(decideRetry(new NetworkError('x'), { policy: never }).retryable).toBe(false);
    expect(DEFAULT_RETRY_POLICY.retryUnknown).toBe(false);
  });
});
