import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** The repository root (test/e2e/support → ../../..). */
export const REPO_ROOT = path.resolve(import.meta.dirname, '../../..');

/** One line a child process wrote, kept for the secret scan and failure reports. */
export interface LogLine {
  process: string;
  stream: 'stdout' | 'stderr';
  text: string;
}

/** Every line every process of a system wrote, in arrival order (also after the process died). */
export class LogBook {
  readonly lines: LogLine[] = [];
  readonly #listeners = new Set<(line: LogLine) => void>();

  add(line: LogLine): void {
    this.lines.push(line);
    for (const l of this.#listeners) l(line);
  }

  /** Calls `fn` for every line from now on; returns the unsubscribe function. */
  subscribe(fn: (line: LogLine) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** The last `n` lines of one process. */
  tail(processName: string, n = 40): LogLine[] {
    return this.lines.filter((l) => l.process === processName).slice(-n);
  }
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Path of `apps/<app>/dist/main.js`, with a clear error when it is not built. */
export function appEntry(app: string): string {
  const entry = path.join(REPO_ROOT, 'apps', app, 'dist', 'main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`pnpm build\` first`);
  return entry;
}

/**
 * A child process (`node apps/<app>/dist/main.js` or any script) whose every output line lands in a
 * LogBook. `exited` resolves once, with the exit code or signal.
 */
export class AppProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<ExitInfo>;
  #exit: ExitInfo | undefined;
  #stopped = false;

  constructor(
    readonly name: string,
    args: string[],
    env: Record<string, string>,
    readonly logs: LogBook,
  ) {
    this.child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      // Only what we pass plus PATH/HOME: the apps must not pick up this machine's settings.
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        TMPDIR: process.env.TMPDIR ?? '/tmp',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      const rl = createInterface({ input: this.child[stream]!, crlfDelay: Number.POSITIVE_INFINITY });
      rl.on('line', (text) => logs.add({ process: name, stream, text }));
    }
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        logs.add({ process: name, stream: 'stderr', text: `<<exited code=${code} signal=${signal}>>` });
        resolve(this.#exit);
      });
      this.child.once('error', (err) => {
        this.#exit = { code: -1, signal: null };
        logs.add({ process: name, stream: 'stderr', text: `<<spawn failed: ${err.message}>>` });
        resolve(this.#exit);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Undefined while running. */
  get exit(): ExitInfo | undefined {
    return this.#exit;
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  /** True when `stop()` or a kill by the test ended it (so an exit is expected, not a crash). */
  get stoppedOnPurpose(): boolean {
    return this.#stopped;
  }

  /** Sends `signal`. SIGKILL/SIGTERM mark the exit as intended. */
  signal(signal: NodeJS.Signals): void {
    if (signal === 'SIGKILL' || signal === 'SIGTERM' || signal === 'SIGINT') this.#stopped = true;
    if (this.running) this.child.kill(signal);
  }

  /** SIGTERM (after SIGCONT, in case the test stopped it), then SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<ExitInfo> {
    this.#stopped = true;
    if (!this.running) return this.#exit!;
    this.child.kill('SIGCONT');
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves with the first line (from now or already written) matching `predicate`. */
  async waitForLine(predicate: (text: string) => boolean, signal?: AbortSignal): Promise<string> {
    const seen = this.logs.lines.find((l) => l.process === this.name && predicate(l.text));
    if (seen) return seen.text;
    return await new Promise<string>((resolve, reject) => {
      const done = () => {
        unsubscribe();
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        done();
        reject(signal?.reason ?? new Error('aborted'));
      };
      const unsubscribe = this.logs.subscribe((line) => {
        if (line.process === this.name && predicate(line.text)) {
          done();
          resolve(line.text);
        }
      });
      void this.exited.then((e) => {
        done();
        reject(new Error(`${this.name} exited (code ${e.code}, signal ${e.signal}) before the awaited line`));
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
