import { describe, expect, it } from 'vitest';
import {
  AbortError,
  CredentialsExpiredError,
  classify,
  MediaferryError,
  SourceNotFoundError,
  StorageError,
} from './errors.js';

describe('errors', () => {
  it('carries a stable code, a retryable flag and a name per class', () => {
    const err = new SourceNotFoundError('no such file');
    expect(err).toBeInstanceOf(MediaferryError);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('SourceNotFoundError');
    expect(err.toJSON()).toEqual({ code: 'SOURCE_NOT_FOUND', message: 'no such file', retryable: false });
    expect(new CredentialsExpiredError('x').retryable).toBe(true);
    expect(new AbortError().name).toBe('AbortError');
  });

  it('makes storage errors retryable only for 5xx unless told otherwise', () => {
    expect(new StorageError('boom', { status: 503 }).retryable).toBe(true);
    expect(new StorageError('nope', { status: 400 }).retryable).toBe(false);
    expect(new StorageError('nope', { status: 400, retryable: true }).retryable).toBe(true);
  });

  it('classifies unknown errors: network codes retryable, the rest internal and not retried', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(classify(reset)).toEqual({ code: 'NETWORK_ERROR', message: 'socket hang up', retryable: true });
    expect(classify(new TypeError('bug'))).toEqual({ code: 'INTERNAL', message: 'bug', retryable: false });
    expect(classify('weird').code).toBe('INTERNAL');
    expect(classify(new SourceNotFoundError('gone')).retryable).toBe(false);
  });
});
