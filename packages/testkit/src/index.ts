export { type AppBuild, buildAppForTest } from './app-build.js';
export { freePort, waitForPort } from './free-port.js';
export {
  type ClusterNodeInfo,
  type RedisCluster,
  type RedisClusterOptions,
  startRedisCluster,
} from './redis-cluster.js';
export { type RedisSentinelOptions, type RedisSentinelSetup, startRedisSentinel } from './redis-sentinel.js';
export { type RedisServer, type RedisServerOptions, startRedisServer } from './redis-server.js';
export { makeTempDir, type TempDir } from './temp-dir.js';
