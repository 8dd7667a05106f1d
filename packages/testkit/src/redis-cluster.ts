import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';
import { type RedisServer, startRedisServer } from './redis-server.js';

const run = promisify(execFile);

export interface RedisClusterOptions {
  /** @defaultValue 3 */
  masters?: number;
  /** Replicas of each master. @defaultValue 1 */
  replicasPerMaster?: number;
  /**
   * How long a master may be unreachable before its replica takes over. Short for tests, but not so
   * short that a loaded machine fails masters over by itself. @defaultValue 3000
   */
  nodeTimeoutMs?: number;
}

export interface ClusterNodeInfo {
  server: RedisServer;
  id: string;
  role: 'master' | 'replica';
  /** Slot ranges served (masters). */
  slots: [number, number][];
}

export interface RedisCluster {
  /** Every node, as the cluster's seed list (`REDIS_CLUSTER_NODES` wants `host:port,…`). */
  readonly nodes: readonly { host: string; port: number }[];
  /** `127.0.0.1:p1,127.0.0.1:p2,…` */
  readonly nodesEnv: string;
  readonly servers: readonly RedisServer[];
  /** Nodes as the cluster sees them now (asked of a live node). */
  topology(): Promise<ClusterNodeInfo[]>;
  /** The live master serving `slot`. */
  masterOf(slot: number): Promise<ClusterNodeInfo>;
  /** `CLUSTER KEYSLOT key`, asked of a live node. */
  keySlot(key: string): Promise<number>;
  /** SIGKILLs the master of `slot` and waits until a replica serves the slot (cluster state ok). */
  killMasterOf(slot: number, timeoutMs?: number): Promise<{ killed: RedisServer; promoted: ClusterNodeInfo }>;
  /** Resolves when every live node says `cluster_state:ok` and all 16384 slots are served. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Stops every node and removes their data. Safe to call twice. */
  stop(): Promise<void>;
}

/** A port whose cluster bus port (port + 10000) is free too. */
async function clusterPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + 10000 > 65535) continue;
    const busFree = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port + 10000, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (busFree) return port;
  }
}

async function ask<T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
  });
  r.on('error', () => {});
  try {
    await r.connect();
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

/**
 * A real Redis Cluster of spawned `redis-server --cluster-enabled yes` processes on free ports,
 * created with `redis-cli --cluster create … --cluster-replicas N` (no Docker), owned by the test.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 1;
  const nodeTimeout = options.nodeTimeoutMs ?? 3000;
  const servers: RedisServer[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= Promise.allSettled(servers.map((s) => s.stop())).then(() => undefined);
    return stopping;
  };
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      servers.push(
        await startRedisServer({
          port: await clusterPort(),
          extraArgs: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            String(nodeTimeout),
            // A replica that lost its master a while ago (a loaded test box) may still take over.
            '--cluster-replica-validity-factor',
            '0',
          ],
        }),
      );
    }
    const addresses = servers.map((s) => `127.0.0.1:${s.port}`);
    await run(
      'redis-cli',
      ['--cluster', 'create', ...addresses, '--cluster-replicas', String(replicas), '--cluster-yes'],
      { timeout: 60_000 },
    );
  } catch (err) {
    await stop();
    throw err;
  }

  const live = () => servers.filter((s) => s.running);
  const topology = async (): Promise<ClusterNodeInfo[]> => {
    const [first] = live();
    if (!first) throw new Error('no live cluster node');
    const text = await ask(first.port, (r) => r.call('CLUSTER', 'NODES') as Promise<string>);
    const out: ClusterNodeInfo[] = [];
    for (const line of text.trim().split('\n')) {
      const [id, addr, flags, , , , , link, ...slotSpecs] = line.split(' ');
      const port = Number(addr?.split('@')[0]?.split(':')[1]);
      const server = servers.find((s) => s.port === port);
      if (!server || !id || flags?.includes('fail') || link !== 'connected') continue;
      const slots = slotSpecs
        .filter((x) => /^\d/.test(x))
        .map((x) => {
          const [a, b] = x.split('-').map(Number) as [number, number | undefined];
          return [a, b ?? a] as [number, number];
        });
      out.push({ server, id, role: flags?.includes('master') ? 'master' : 'replica', slots });
    }
    return out;
  };
  const masterOf = async (slot: number) => {
    const found = (await topology()).find(
      (n) => n.role === 'master' && n.server.running && n.slots.some(([a, b]) => slot >= a && slot <= b),
    );
    if (!found) throw new Error(`no live master serves slot ${slot}`);
    return found;
  };
  const waitHealthy = async (timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(
        live().map((s) => ask(s.port, (r) => r.call('CLUSTER', 'INFO') as Promise<string>).catch(() => '')),
      );
      if (states.every((t) => /cluster_state:ok/.test(t) && /cluster_slots_ok:16384/.test(t))) return;
      if (Date.now() > deadline) throw new Error(`cluster not healthy after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  await waitHealthy(60_000);
  const nodes = servers.map((s) => ({ host: '127.0.0.1', port: s.port }));
  return {
    nodes,
    nodesEnv: nodes.map((n) => `${n.host}:${n.port}`).join(','),
    servers,
    topology,
    masterOf,
    keySlot: async (key) => {
      const [first] = live();
      if (!first) throw new Error('no live cluster node');
      return Number(await ask(first.port, (r) => r.call('CLUSTER', 'KEYSLOT', key)));
    },
    killMasterOf: async (slot, timeoutMs = 60_000) => {
      const master = await masterOf(slot);
      await master.server.kill('SIGKILL');
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        try {
          const promoted = await masterOf(slot);
          if (promoted.server !== master.server) {
            await waitHealthy(Math.max(1000, deadline - Date.now()));
            return { killed: master.server, promoted };
          }
        } catch {
          // the slot has no master yet
        }
        if (Date.now() > deadline) throw new Error(`no replica took slot ${slot} over in ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    waitHealthy,
    stop,
  };
}
