import { setTimeout as delay } from 'node:timers/promises';
import type { AppProcess } from './app-process.js';

export interface PollOptions {
  /** Give up after this long. @defaultValue 60_000 */
  timeoutMs?: number;
  /** Pause between checks. @defaultValue 100 */
  intervalMs?: number;
  /** Fail at once when one of these processes dies meanwhile. */
  watch?: AppProcess[];
  signal?: AbortSignal;
}

/**
 * Re-checks `probe` until it returns a value other than undefined. For state that has no event to
 * subscribe to (a port opening, a log entry on the emulator); never used as a plain sleep.
 */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  options: PollOptions = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let lastError: unknown;
  for (;;) {
    options.signal?.throwIfAborted();
    for (const p of options.watch ?? []) {
      if (!p.running && !p.stoppedOnPurpose) {
        throw new Error(
          `${p.name} exited (code ${p.exit?.code}, signal ${p.exit?.signal}) while waiting for ${what}`,
        );
      }
    }
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out waiting for ${what}${why}`);
    }
    await delay(options.intervalMs ?? 100, undefined, options.signal ? { signal: options.signal } : {});
  }
}

/** Waits until GET `url` answers 2xx. */
export async function waitHttpOk(url: string, options: PollOptions = {}): Promise<void> {
  await pollUntil(
    `${url} to answer 2xx`,
    async () => {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      return res.ok ? true : undefined;
    },
    options,
  );
}
