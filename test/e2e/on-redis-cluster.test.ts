/**
 * The mixed-jobs and worker-failover scenarios, unchanged, on a real Redis Cluster (3 masters, each
 * with a replica) with the upload queue in 3 shards: the same test files, imported after the
 * System defaults are switched (this file's module state only; other files keep a single Redis).
 */
import { describe, expect, it } from 'vitest';
import { e2eRedisDefaults, redisDeploymentsStarted } from './support/redis-deployment.js';

e2eRedisDefaults.redis = 'cluster';
e2eRedisDefaults.queueShards = 3;

await import('./mixed-jobs.test.js');
await import('./worker-failover.test.js');

describe('the scenarios above', () => {
  it('ran on Redis Clusters, one per system', () => {
    // 4 systems: mixed jobs, and the SIGKILL, SIGTERM and SIGSTOP failovers.
    expect(redisDeploymentsStarted.cluster).toBe(4);
    expect(redisDeploymentsStarted.sentinel).toBe(0);
  });
});
