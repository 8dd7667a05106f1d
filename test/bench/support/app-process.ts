import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

/** The repository root (test/bench/support → ../../..). */
export const REPO_ROOT = path.resolve(import.meta.dirname, '../../..');

/** `apps/<app>/dist/main.js`, with a clear error when it is not built. */
export function appEntry(app: string): string {
  const entry = path.join(REPO_ROOT, 'apps', app, 'dist', 'main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`pnpm build\` first`);
  return entry;
}

export interface BenchProcessOptions {
  /** Environment of the child; only PATH, HOME and TMPDIR are inherited. */
  env: Record<string, string>;
  /** stdout and stderr go to this file (not through the bench process, which must not pay for them). */
  logFile: string;
  /** Flags before the script, e.g. `--cpu-prof`. @defaultValue [] */
  nodeArgs?: string[];
  /** Command that runs node, e.g. `['ip', 'netns', 'exec', 'ns1']` (it must exec, keeping the pid). @defaultValue [] */
  wrapper?: string[];
}

/**
 * `node <script>` as its own process, as in production. Its output goes straight to a file, so the
 * load generator spends no CPU on it; `tail()` reads the file for error reports.
 */
export class BenchProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  readonly logFile: string;
  readonly name: string;
  #running = true;

  constructor(name: string, script: string, options: BenchProcessOptions) {
    this.name = name;
    this.logFile = options.logFile;
    const fd = openSync(options.logFile, 'a');
    try {
      const [cmd, ...prefix] = [...(options.wrapper ?? []), process.execPath];
      this.child = spawn(cmd as string, [...prefix, ...(options.nodeArgs ?? []), script], {
        cwd: REPO_ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          TMPDIR: process.env.TMPDIR ?? '/tmp',
          ...options.env,
        },
        stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.#running = false;
        resolve(code ?? (signal ? -1 : null));
      });
      this.child.once('error', () => {
        this.#running = false;
        resolve(-1);
      });
    });
  }

  get pid(): number {
    const pid = this.child.pid;
    if (pid === undefined) throw new Error(`${this.name} has no pid (spawn failed)`);
    return pid;
  }

  get running(): boolean {
    return this.#running;
  }

  /** The last `n` lines the process wrote. */
  tail(n = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-n).join('\n');
    } catch {
      return '';
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. Safe to call twice. */
  async stop(graceMs = 10_000): Promise<number | null> {
    if (this.#running) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      try {
        return await this.exited;
      } finally {
        clearTimeout(timer);
      }
    }
    return await this.exited;
  }
}

/** Waits until GET `url` answers 2xx; fails at once when `proc` dies meanwhile. */
export async function waitHttpOk(url: string, proc: BenchProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!proc.running) throw new Error(`${proc.name} exited while starting:\n${proc.tail()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`${url} did not answer 2xx in ${timeoutMs} ms:\n${proc.tail()}`);
    await delay(100);
  }
}
