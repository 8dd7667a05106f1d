import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';
import { type RedisServer, startRedisServer } from './redis-server.js';

export interface RedisSentinelOptions {
  /** Replicas of the master. @defaultValue 1 */
  replicas?: number;
  /** Sentinels (a quorum of a majority of them). @defaultValue 3 */
  sentinels?: number;
  /** @defaultValue 'mymaster' */
  masterName?: string;
  /** How long the master may be unreachable before the sentinels fail it over. @defaultValue 2000 */
  downAfterMs?: number;
}

export interface RedisSentinelSetup {
  readonly masterName: string;
  /** Sentinel addresses (`REDIS_SENTINELS` wants `host:port,…`). */
  readonly sentinels: readonly { host: string; port: number }[];
  readonly sentinelsEnv: string;
  /** The data nodes: the first started as master, the others as its replicas. */
  readonly servers: readonly RedisServer[];
  /** The data node the sentinels name as master now. */
  currentMaster(): Promise<RedisServer>;
  /** SIGKILLs the current master and waits until the sentinels name (and reach) another one. */
  killMaster(timeoutMs?: number): Promise<{ killed: RedisServer; promoted: RedisServer }>;
  /** Stops everything. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * A master, its replicas and N sentinels watching them: spawned processes on free ports, owned by the
 * test (no Docker).
 */
export async function startRedisSentinel(options: RedisSentinelOptions = {}): Promise<RedisSentinelSetup> {
  const masterName = options.masterName ?? 'mymaster';
  const count = options.sentinels ?? 3;
  const quorum = Math.floor(count / 2) + 1;
  const started: RedisServer[] = [];
  const servers: RedisServer[] = [];
  const sentinelServers: RedisServer[] = [];
  const confDir = await mkdtemp(path.join(os.tmpdir(), 'mf-sentinel-'));
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await Promise.allSettled(started.map((s) => s.stop()));
      await rm(confDir, { recursive: true, force: true });
    })();
    return stopping;
  };
  try {
    const master = await startRedisServer();
    started.push(master);
    servers.push(master);
    for (let i = 0; i < (options.replicas ?? 1); i++) {
      const replica = await startRedisServer({
        extraArgs: ['--replicaof', '127.0.0.1', String(master.port)],
      });
      started.push(replica);
      servers.push(replica);
    }
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      const file = path.join(confDir, `sentinel-${port}.conf`);
      await writeFile(
        file,
        [
          `sentinel monitor ${masterName} 127.0.0.1 ${master.port} ${quorum}`,
          `sentinel down-after-milliseconds ${masterName} ${options.downAfterMs ?? 2000}`,
          `sentinel failover-timeout ${masterName} 10000`,
          `sentinel parallel-syncs ${masterName} 1`,
          '',
        ].join('\n'),
      );
      const sentinel = await startRedisServer({ port, configFile: file, sentinel: true });
      started.push(sentinel);
      sentinelServers.push(sentinel);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const askSentinels = async (): Promise<number | undefined> => {
    for (const s of sentinelServers.filter((x) => x.running)) {
      const r = new Redis({ port: s.port, lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000 });
      r.on('error', () => {});
      try {
        await r.connect();
        const [, port] = (await r.call('SENTINEL', 'get-master-addr-by-name', masterName)) as [
          string,
          string,
        ];
        return Number(port);
      } catch {
        // try the next sentinel
      } finally {
        r.disconnect();
      }
    }
    return undefined;
  };
  const isMaster = async (server: RedisServer) => {
    const r = new Redis({
      port: server.port,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      connectTimeout: 2000,
    });
    r.on('error', () => {});
    try {
      await r.connect();
      return /role:master/.test(await r.info('replication'));
    } catch {
      return false;
    } finally {
      r.disconnect();
    }
  };
  const currentMaster = async () => {
    const port = await askSentinels();
    const found = servers.find((s) => s.port === port);
    if (!found) throw new Error('the sentinels name no known master');
    return found;
  };
  // Every sentinel must know the replicas before a failover can pick one.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = new Redis({ port: sentinelServers[0]?.port, lazyConnect: true, maxRetriesPerRequest: 0 });
    r.on('error', () => {});
    const ready = await r
      .connect()
      .then(async () => {
        const replicas = (await r.call('SENTINEL', 'replicas', masterName)) as unknown[];
        const others = (await r.call('SENTINEL', 'sentinels', masterName)) as unknown[];
        return replicas.length >= servers.length - 1 && others.length >= count - 1;
      })
      .catch(() => false)
      .finally(() => r.disconnect());
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error('sentinels did not discover the replicas and each other in 30 s');
    }
    await new Promise((res) => setTimeout(res, 200));
  }

  const sentinels = sentinelServers.map((s) => ({ host: '127.0.0.1', port: s.port }));
  return {
    masterName,
    sentinels,
    sentinelsEnv: sentinels.map((s) => `${s.host}:${s.port}`).join(','),
    servers,
    currentMaster,
    killMaster: async (timeoutMs = 60_000) => {
      const killed = await currentMaster();
      await killed.kill('SIGKILL');
      const until = Date.now() + timeoutMs;
      for (;;) {
        const port = await askSentinels();
        const promoted = servers.find((s) => s.port === port && s !== killed);
        if (promoted && (await isMaster(promoted))) return { killed, promoted };
        if (Date.now() > until) throw new Error(`no failover within ${timeoutMs} ms`);
        await new Promise((res) => setTimeout(res, 200));
      }
    },
    stop,
  };
}
