import { setTimeout as delay } from 'node:timers/promises';

/** Sends request `i`; resolves with the HTTP status (or throws on a transport error). */
export type SendFn = (i: number) => Promise<number>;

export interface LoadResult {
  /** Per request, ms: from start (closed loop) or from the scheduled time (open loop) to the answer. */
  latenciesMs: number[];
  elapsedMs: number;
  /** HTTP status (or `error`) → count. */
  statuses: Map<string, number>;
  /** Open loop only: the worst delay between a request's scheduled time and its dispatch. */
  maxDispatchLagMs: number;
  maxInFlight: number;
}

function count(statuses: Map<string, number>, key: string): void {
  statuses.set(key, (statuses.get(key) ?? 0) + 1);
}

/** `count` requests with exactly `concurrency` in flight: the throughput ceiling. */
export async function closedLoop(count_: number, concurrency: number, send: SendFn): Promise<LoadResult> {
  const latenciesMs = new Array<number>(count_);
  const statuses = new Map<string, number>();
  let next = 0;
  const started = performance.now();
  const lane = async () => {
    while (next < count_) {
      const i = next++;
      const t0 = performance.now();
      try {
        count(statuses, String(await send(i)));
      } catch (err) {
        count(statuses, `error:${(err as { code?: string }).code ?? (err as Error).name}`);
      }
      latenciesMs[i] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count_) }, lane));
  return {
    latenciesMs,
    elapsedMs: performance.now() - started,
    statuses,
    maxDispatchLagMs: 0,
    maxInFlight: concurrency,
  };
}

/**
 * Open loop: request i is due at `start + i / rate`, whatever happened to the earlier ones, and its
 * latency counts from that due time, so a stall shows up in every request it delayed (no coordinated
 * omission). The generator checks the clock every millisecond and sends everything that is due.
 */
export async function openLoop(count_: number, ratePerSec: number, send: SendFn): Promise<LoadResult> {
  const latenciesMs = new Array<number>(count_);
  const statuses = new Map<string, number>();
  const intervalMs = 1000 / ratePerSec;
  const pending = new Set<Promise<void>>();
  let maxDispatchLagMs = 0;
  let maxInFlight = 0;
  let next = 0;
  const start = performance.now() + 5;
  while (next < count_) {
    const now = performance.now();
    while (next < count_ && start + next * intervalMs <= now) {
      const i = next++;
      const due = start + i * intervalMs;
      maxDispatchLagMs = Math.max(maxDispatchLagMs, now - due);
      const p: Promise<void> = send(i).then(
        (status) => count(statuses, String(status)),
        (err: unknown) => count(statuses, `error:${(err as { code?: string }).code ?? (err as Error).name}`),
      );
      const tracked = p.then(() => {
        latenciesMs[i] = performance.now() - due;
        pending.delete(tracked);
      });
      pending.add(tracked);
      maxInFlight = Math.max(maxInFlight, pending.size);
    }
    await delay(1);
  }
  while (pending.size > 0) await Promise.all([...pending]);
  return {
    latenciesMs,
    elapsedMs: performance.now() - start,
    statuses,
    maxDispatchLagMs,
    maxInFlight,
  };
}

/** `202:9990,429:10` style summary of the statuses. */
export function statusLine(statuses: Map<string, number>): string {
  return [...statuses.entries()]
    .sort()
    .map(([k, v]) => `${k}:${v}`)
    .join(',');
}
