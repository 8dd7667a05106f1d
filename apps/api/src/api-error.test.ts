import { describe, expect, it } from 'vitest';
import { isRedisUnavailable, toApiError } from './api-error.js';

describe('isRedisUnavailable', () => {
  it('treats a failover in progress like a Redis that is away (503), and nothing else', () => {
    for (const message of [
      'CLUSTERDOWN The cluster is down',
      'TRYAGAIN Multiple keys request during rehashing of slot',
      "READONLY You can't write against a read only replica.",
      'LOADING Redis is loading the dataset in memory',
      'Failed to refresh slots cache.',
      'None of startup nodes is available',
      'Too many Cluster redirections. Last error: Error: Connection is closed.',
      'Connection is closed.',
    ]) {
      expect(isRedisUnavailable(new Error(message)), message).toBe(true);
      expect(toApiError(new Error(message)).statusCode).toBe(503);
    }
    expect(
      isRedisUnavailable(new Error('WRONGTYPE Operation against a key holding the wrong kind of value')),
    ).toBe(false);
  });
});
