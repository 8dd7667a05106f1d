import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from './free-port.js';

export interface RedisServerOptions {
  /** Persist with AOF so a kill + restart keeps the data (like production). @defaultValue false */
  appendOnly?: boolean;
  /** Binary to spawn. @defaultValue `redis-server` from PATH */
  binary?: string;
  /** Port to listen on. @defaultValue a free one */
  port?: number;
  /** More `--name value` arguments (cluster mode, replication). @defaultValue [] */
  extraArgs?: readonly string[];
  /** A config file given before the arguments (a sentinel's, which Sentinel rewrites). @defaultValue none */
  configFile?: string;
  /** `--sentinel`: run as a Sentinel. @defaultValue false */
  sentinel?: boolean;
}

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** Its data directory (kept across `kill`/`restart`). */
  readonly dir: string;
  /** Whether the process runs (not killed, not stopped). */
  readonly running: boolean;
  /** Kills the server (SIGKILL by default) without removing its data directory. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and data directory. */
  restart(): Promise<void>;
  /** Stops it and removes its data directory. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * A private `redis-server` on a free port, owned by the test that started it, so the test can kill
 * and restart it. Never touches a Redis the machine already runs. (Docker images cannot be pulled on
 * our machines, so the binary is spawned; see README "Tests".)
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = options.binary ?? 'redis-server';
  const port = options.port ?? (await freePort());
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mf-redis-'));
  let child: ChildProcess | undefined;
  let stopped: Promise<void> | undefined;

  const launch = async () => {
    const common = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
    ];
    const args = options.sentinel
      ? [
          ...(options.configFile ? [options.configFile] : []),
          '--sentinel',
          ...common,
          ...(options.extraArgs ?? []),
        ]
      : [
          ...(options.configFile ? [options.configFile] : []),
          ...common,
          '--save',
          '',
          '--appendonly',
          options.appendOnly ? 'yes' : 'no',
          '--appendfsync',
          'everysec',
          '--maxmemory-policy',
          'noeviction',
          ...(options.extraArgs ?? []),
        ];
    const proc = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    let stderr = '';
    proc.stderr?.on('data', (d) => {
      stderr += String(d);
    });
    const exited = new Promise<never>((_, reject) =>
      proc.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${stderr}`))),
    );
    exited.catch(() => {});
    proc.once('error', () => {});
    await Promise.race([waitForPort(port), exited]);
  };

  const killNow = async (signal: NodeJS.Signals) => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill(signal);
    });
  };

  if (!existsSync(dir)) throw new Error('temp dir vanished');
  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    kill: (signal = 'SIGKILL') => killNow(signal),
    restart: async () => {
      await killNow('SIGKILL');
      await launch();
    },
    stop: () => {
      stopped ??= (async () => {
        await killNow('SIGTERM');
        await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
