import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { RedisClient as Redis } from '@mediaferry/queue';

/** Nearest-rank percentile of an ascending array (0 when empty). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(latenciesMs: readonly number[]): LatencySummary {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? 0,
    mean: sorted.length ? sum / sorted.length : 0,
  };
}

/** A figure rounded for the key=value line: integers stay integers, others get `digits` decimals. */
export function fmt(value: number, digits = 2): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(digits);
}

/** CPU time (user + system) a process has used so far, from /proc (Linux), in ms. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start at the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

/** CPU time the redis-server has used so far (INFO cpu), in ms. */
export async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(readInfo(info, name));
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
}

function readInfo(info: string, name: string): string {
  const line = info.split(/\r?\n/).find((l) => l.startsWith(`${name}:`));
  return line ? line.slice(name.length + 1) : '0';
}

/** CPU used by a set of processes over one phase, per job: where the time goes. */
export class CpuMeter {
  readonly #pids: Map<string, number>;
  readonly #redis: Redis | undefined;
  #start = new Map<string, number>();
  #startWall = 0;

  constructor(pids: Record<string, number>, redis?: Redis) {
    this.#pids = new Map(Object.entries(pids));
    this.#redis = redis;
  }

  async begin(): Promise<void> {
    this.#start = await this.#sample();
    this.#startWall = performance.now();
  }

  /** CPU ms each process used since `begin()`, plus the wall time, so `cpu / wall` is a core share. */
  async end(): Promise<{ wallMs: number; cpuMs: Record<string, number> }> {
    const now = await this.#sample();
    const wallMs = performance.now() - this.#startWall;
    const cpuMs: Record<string, number> = {};
    for (const [name, v] of now) cpuMs[name] = v - (this.#start.get(name) ?? 0);
    return { wallMs, cpuMs };
  }

  async #sample(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const [name, pid] of this.#pids) {
      try {
        out.set(name, processCpuMs(pid));
      } catch {
        out.set(name, 0);
      }
    }
    out.set('bench', processCpuMs(process.pid));
    if (this.#redis) out.set('redis', await redisCpuMs(this.#redis));
    return out;
  }
}

/** What the machine was doing when the run started: figures on a shared box need this context. */
export function machineLine(): string {
  const [l1] = os.loadavg();
  return `cpus=${os.cpus().length} load1=${fmt(l1 ?? 0)} node=${process.version}`;
}

/** Prints the final `key=value …` line (the figures of the run) and returns it. */
export function printFigures(figures: Record<string, string | number>): string {
  const line = Object.entries(figures)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? fmt(v) : v}`)
    .join(' ');
  process.stdout.write(`${line}\n`);
  return line;
}

/** Zeroes Redis's per-command counters (INFO commandstats) before a phase. */
export async function resetRedisStats(redis: Redis): Promise<void> {
  await redis.config('RESETSTAT');
}

/** Redis commands per job since `resetRedisStats` (`evalsha 4.00, hset 1.00 …`), busiest first. */
export async function redisCommandsPerJob(
  redis: Redis,
  jobs: number,
): Promise<{ total: number; line: string }> {
  const info = await redis.info('commandstats');
  const rows: [string, number, number][] = [];
  for (const line of info.split(/\r?\n/)) {
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
    if (m && m[1] !== 'info' && m[1] !== 'config') rows.push([m[1] as string, Number(m[2]), Number(m[3])]);
  }
  rows.sort((a, b) => b[1] - a[1]);
  const total = rows.reduce((n, r) => n + r[1], 0) / jobs;
  const line = rows
    .slice(0, 12)
    .map(([cmd, calls, usec]) => `${cmd} ${(calls / jobs).toFixed(2)} (${(usec / calls).toFixed(0)} µs)`)
    .join(', ');
  return { total, line };
}
