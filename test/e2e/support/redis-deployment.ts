import type { RedisTarget } from '@mediaferry/queue';
import {
  type RedisCluster,
  type RedisSentinelSetup,
  startRedisCluster,
  startRedisSentinel,
} from '@mediaferry/testkit';

/** Which Redis a System runs on. */
export type RedisKind = 'standalone' | 'cluster' | 'sentinel';

/**
 * What `System` uses when a test does not say. A suite file that re-runs other test files on a
 * Redis Cluster (`on-redis-cluster.test.ts`) changes these before importing them; each test file
 * runs with its own module state, so nothing leaks into other files.
 */
export const e2eRedisDefaults: { redis: RedisKind; queueShards: number } = {
  redis: 'standalone',
  queueShards: 1,
};

/** Deployments started by this test file, by kind (a suite can check what it really ran on). */
export const redisDeploymentsStarted = { cluster: 0, sentinel: 0 };

export interface RedisDeployment {
  target: RedisTarget;
  cluster?: RedisCluster;
  sentinel?: RedisSentinelSetup;
  stop(): Promise<void>;
}

/** A 3-master + 3-replica Redis Cluster, or a master + replica watched by 3 sentinels. */
export async function startRedisDeployment(kind: 'cluster' | 'sentinel'): Promise<RedisDeployment> {
  redisDeploymentsStarted[kind] += 1;
  if (kind === 'cluster') {
    const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
    return {
      target: { mode: 'cluster', url: 'redis://127.0.0.1:6379', nodes: cluster.nodes },
      cluster,
      stop: () => cluster.stop(),
    };
  }
  const sentinel = await startRedisSentinel({ replicas: 1, sentinels: 3 });
  return {
    target: {
      mode: 'sentinel',
      url: 'redis://127.0.0.1:6379',
      nodes: sentinel.sentinels,
      sentinelMaster: sentinel.masterName,
    },
    sentinel,
    stop: () => sentinel.stop(),
  };
}
