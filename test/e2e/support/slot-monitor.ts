import net from 'node:net';
import type { RedisCluster } from '@mediaferry/testkit';
import { Redis } from 'ioredis';

/** Commands that run as one atomic unit on a node: a script with what it ran, or MULTI … EXEC. */
export interface AtomicUnit {
  kind: 'script' | 'multi' | 'command';
  node: number;
  /** Every command of the unit (the EVAL/EVALSHA itself first for scripts), as sent. */
  commands: string[][];
}

export interface SlotViolation {
  unit: AtomicUnit;
  /** key → slot, for the keys of the unit (two slots or more). */
  slots: Record<string, number>;
}

const SCRIPT_CALLS = new Set(['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro']);

/** One MONITOR line: `1700000000.123456 [0 127.0.0.1:5555] "cmd" "arg" …` (args escaped like sdscatrepr). */
export function parseMonitorLine(line: string): { source: string; args: string[] } | undefined {
  const m = /^\d+\.\d+ \[\d+ ([^\]]+)\] (.*)$/.exec(line);
  if (!m) return undefined;
  const args: string[] = [];
  const text = m[2] as string;
  let i = 0;
  while (i < text.length) {
    if (text[i] !== '"') {
      i += 1;
      continue;
    }
    let out = '';
    i += 1;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') {
        const next = text[i + 1];
        if (next === 'x') {
          out += String.fromCharCode(Number.parseInt(text.slice(i + 2, i + 4), 16));
          i += 4;
          continue;
        }
        out +=
          ({ n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b' } as Record<string, string>)[next ?? ''] ??
          next ??
          '';
        i += 2;
        continue;
      }
      out += text[i];
      i += 1;
    }
    args.push(out);
    i += 1;
  }
  return { source: m[1] as string, args };
}

/** Opens a MONITOR on a node (raw protocol: ioredis' monitor mode trips on a busy server). */
async function monitorNode(port: number, onLine: (line: string) => void): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => {});
  let buffer = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    let end = buffer.indexOf('\r\n');
    while (end >= 0) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (line.startsWith('+') && line !== '+OK') onLine(line.slice(1));
      end = buffer.indexOf('\r\n');
    }
  });
  socket.write('MONITOR\r\n');
  return socket;
}

/**
 * Watches every master of a cluster with MONITOR and groups what they execute into atomic units:
 * each script with the commands it ran (MONITOR shows them as `lua`, right after the call), each
 * MULTI … EXEC of one client, and every other command. `violations()` then asks the cluster
 * (`COMMAND GETKEYS`, `CLUSTER KEYSLOT`) which keys each unit touched and returns the units whose
 * keys span more than one slot — including keys a script derived itself instead of declaring them.
 */
export class SlotMonitor {
  readonly units: AtomicUnit[] = [];
  readonly #monitors: net.Socket[] = [];
  readonly #ports: number[] = [];

  private constructor(private readonly cluster: RedisCluster) {}

  static async start(cluster: RedisCluster): Promise<SlotMonitor> {
    const watcher = new SlotMonitor(cluster);
    const masters = (await cluster.topology()).filter((n) => n.role === 'master');
    for (const [node, master] of masters.entries()) {
      let script: AtomicUnit | undefined;
      const transactions = new Map<string, AtomicUnit>();
      const onLine = (line: string) => {
        const parsed = parseMonitorLine(line);
        if (!parsed) return;
        const { source, args } = parsed;
        const name = (args[0] ?? '').toLowerCase();
        if (source === 'lua') {
          script?.commands.push(args);
          return;
        }
        script = undefined;
        const tx = transactions.get(source);
        if (name === 'multi') {
          transactions.set(source, { kind: 'multi', node, commands: [] });
        } else if (tx && (name === 'exec' || name === 'discard')) {
          transactions.delete(source);
          watcher.units.push(tx);
        } else if (tx) {
          tx.commands.push(args);
        } else if (SCRIPT_CALLS.has(name)) {
          script = { kind: 'script', node, commands: [args] };
          watcher.units.push(script);
        } else {
          watcher.units.push({ kind: 'command', node, commands: [args] });
        }
      };
      watcher.#monitors.push(await monitorNode(master.server.port, onLine));
      watcher.#ports.push(master.server.port);
    }
    return watcher;
  }

  /** Waits until every monitor has received what its node ran so far (an ECHO marker came through). */
  async flush(timeoutMs = 10_000): Promise<void> {
    const marker = `slot-monitor-flush-${Date.now()}`;
    for (const port of this.#ports) {
      const r = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0 });
      r.on('error', () => {});
      await r.connect();
      await r.echo(marker).finally(() => r.disconnect());
    }
    const deadline = Date.now() + timeoutMs;
    const seen = () =>
      new Set(
        this.units
          .filter((u) => u.commands[0]?.[0]?.toLowerCase() === 'echo' && u.commands[0]?.[1] === marker)
          .map((u) => u.node),
      ).size;
    while (seen() < this.#ports.length) {
      if (Date.now() > deadline) throw new Error('MONITOR did not deliver the flush marker');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops watching. Safe to call twice. */
  stop(): void {
    for (const m of this.#monitors) m.destroy();
    this.#monitors.length = 0;
  }

  /** The units whose keys span two or more slots (by the cluster's own COMMAND GETKEYS and KEYSLOT). */
  async violations(): Promise<SlotViolation[]> {
    const [node] = (await this.cluster.topology()).filter((n) => n.role === 'master');
    if (!node) throw new Error('no live master');
    const redis = new Redis({ port: node.server.port, lazyConnect: true, maxRetriesPerRequest: 1 });
    redis.on('error', () => {});
    await redis.connect();
    try {
      const keysOf = new Map<string, string[]>();
      const commands = [...new Map(this.units.flatMap((u) => u.commands).map((c) => [JSON.stringify(c), c]))];
      for (let i = 0; i < commands.length; i += 500) {
        const pipeline = redis.pipeline();
        for (const [, c] of commands.slice(i, i + 500)) pipeline.call('COMMAND', 'GETKEYS', ...c);
        const replies = (await pipeline.exec()) ?? [];
        for (const [j, [id]] of commands.slice(i, i + 500).entries()) {
          const [err, keys] = replies[j] ?? [null, []];
          // Commands without keys (PUBLISH, PING, INFO, …) answer an error: no keys.
          keysOf.set(id, err ? [] : (keys as string[]));
        }
      }
      const allKeys = [...new Set([...keysOf.values()].flat())];
      const slotOf = new Map<string, number>();
      for (let i = 0; i < allKeys.length; i += 500) {
        const pipeline = redis.pipeline();
        for (const k of allKeys.slice(i, i + 500)) pipeline.call('CLUSTER', 'KEYSLOT', k);
        const replies = (await pipeline.exec()) ?? [];
        for (const [j, k] of allKeys.slice(i, i + 500).entries()) slotOf.set(k, Number(replies[j]?.[1]));
      }
      const out: SlotViolation[] = [];
      for (const unit of this.units) {
        const keys = unit.commands.flatMap((c) => keysOf.get(JSON.stringify(c)) ?? []);
        const slots = Object.fromEntries(keys.map((k) => [k, slotOf.get(k) ?? -1]));
        if (new Set(Object.values(slots)).size > 1) out.push({ unit, slots });
      }
      return out;
    } finally {
      redis.disconnect();
    }
  }
}
