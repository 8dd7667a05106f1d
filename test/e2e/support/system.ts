import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { MediaferryClient } from '@mediaferry/client';
import { EmulatorAdminClient } from '@mediaferry/emulator';
import type { RedisTarget } from '@mediaferry/queue';
import {
  freePort,
  makeTempDir,
  type RedisCluster,
  type RedisSentinelSetup,
  type RedisServer,
  startRedisServer,
  type TempDir,
} from '@mediaferry/testkit';
import { AppProcess, appEntry, LogBook } from './app-process.js';
import type { OssAccount } from './object-check.js';
import { e2eRedisDefaults, type RedisKind, startRedisDeployment } from './redis-deployment.js';
import { type NamedSecret, type SecretFinding, scanText } from './secret-scan.js';
import { pollUntil, waitHttpOk } from './waits.js';

export interface SystemOptions {
  /** Worker processes started up front. @defaultValue 2 */
  workers?: number;
  /** Extra environment for every app (wins over the harness defaults). @defaultValue {} */
  env?: Record<string, string>;
  /** Extra environment for workers only. @defaultValue {} */
  workerEnv?: Record<string, string>;
  /** Redis with AOF, for tests that kill and restart it (standalone only). @defaultValue false */
  appendOnlyRedis?: boolean;
  /**
   * The Redis deployment: one server, a 3-master + 3-replica Cluster, or master + replica + 3
   * sentinels. @defaultValue `e2eRedisDefaults.redis` ('standalone' unless a suite file changed it)
   */
  redis?: RedisKind;
  /** MEDIAFERRY_QUEUE_SHARDS of every app. @defaultValue `e2eRedisDefaults.queueShards` (1) */
  queueShards?: number;
  /** Start the metrics service. @defaultValue true */
  metrics?: boolean;
  /** Calling services (each gets a random token and webhook secret). @defaultValue ['svc-a', 'svc-b'] */
  services?: string[];
}

/** A service's credentials towards the API. */
export interface ServiceIdentity {
  name: string;
  token: string;
  webhookSecret: string;
}

/** One worker process and where its metrics/health endpoint listens. */
export interface WorkerHandle {
  readonly index: number;
  readonly process: AppProcess;
  readonly metricsUrl: string;
  /** Sends a signal: SIGKILL/SIGTERM end it, SIGSTOP freezes it, SIGCONT thaws it. */
  kill(signal: NodeJS.Signals): void;
}

/** A response body the API sent (kept for the secret scan). */
export interface RecordedResponse {
  url: string;
  status: number;
  body: string;
}

const HOOK_TIMEOUT_MS = 60_000;

/**
 * The whole system as separate processes on free ports: a private redis-server, the emulator, the
 * API, N workers and the metrics service, with temp dirs for the file root and emulator data.
 */
export class System {
  readonly logs = new LogBook();
  readonly responses: RecordedResponse[] = [];
  readonly services: Record<string, ServiceIdentity> = {};
  readonly #workers: WorkerHandle[] = [];
  readonly #apps: AppProcess[] = [];
  readonly #temp: TempDir[] = [];
  /** Commands that end on their own (the CLI): never counted as crashes. */
  readonly #oneShot = new Set<AppProcess>();
  #stopping: Promise<void> | undefined;

  /** The Redis server (standalone deployments only; see `redisCluster`, `redisSentinel`). */
  redis!: RedisServer;
  redisCluster: RedisCluster | undefined;
  redisSentinel: RedisSentinelSetup | undefined;
  /** Where the apps' Redis is, for the test's own connections (`createRedis(sys.redisTarget)`). */
  redisTarget!: RedisTarget;
  #stopRedis: () => Promise<void> = async () => {};
  emulator!: AppProcess;
  api!: AppProcess;
  metrics: AppProcess | undefined;
  /** Directory in MEDIAFERRY_FILE_ROOTS: put file sources here. */
  mediaDir = '';
  emulatorDataDir = '';
  emulatorUrl = '';
  apiUrl = '';
  metricsUrl = '';
  admin!: EmulatorAdminClient;
  /** The environment every app got (workers add their own port). */
  env: Record<string, string> = {};
  readonly accessKeyId = `LTAI${randomBytes(8).toString('hex')}`;
  readonly accessKeySecret = `e2e-ak-secret-${randomBytes(15).toString('hex')}`;
  readonly adminToken = randomBytes(16).toString('hex');
  readonly redisPrefix = `mfe2e${randomBytes(3).toString('hex')}`;

  constructor(readonly options: SystemOptions) {}

  /** The account AccessKey as an ali-oss reader needs it. */
  get ossAccount(): OssAccount {
    return {
      endpoint: this.emulatorUrl,
      region: this.env.VOD_REGION ?? 'cn-shanghai',
      accessKeyId: this.accessKeyId,
      accessKeySecret: this.accessKeySecret,
    };
  }

  get workers(): readonly WorkerHandle[] {
    return this.#workers;
  }

  worker(i: number): WorkerHandle {
    const w = this.#workers[i];
    if (!w) throw new Error(`no worker ${i} (there are ${this.#workers.length})`);
    return w;
  }

  /** Every app process ever started, including dead ones. */
  get processes(): readonly AppProcess[] {
    return this.#apps;
  }

  /** A typed client acting as `service` whose responses are recorded for the secret scan. */
  client(service = 'svc-a', options: { token?: string } = {}): MediaferryClient {
    const token = options.token ?? this.services[service]?.token;
    if (token === undefined) throw new Error(`unknown service ${service}`);
    return new MediaferryClient({ baseUrl: this.apiUrl, token, fetch: this.recordingFetch, retries: 0 });
  }

  /** fetch that keeps a copy of every API response body (event streams included). */
  readonly recordingFetch: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    void res
      .clone()
      .text()
      .then(
        (body) => this.responses.push({ url, status: res.status, body }),
        () => {},
      );
    return res;
  };

  /** A raw request to the API (for malformed input); the response body is recorded. */
  async request(
    method: string,
    urlPath: string,
    init: { headers?: Record<string, string>; body?: string | Uint8Array } = {},
  ): Promise<{ status: number; contentType: string; text: string }> {
    const res = await this.recordingFetch(this.apiUrl + urlPath, {
      method,
      ...(init.headers ? { headers: init.headers } : {}),
      ...(init.body === undefined ? {} : { body: init.body }),
    });
    const text = await res.text();
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', text };
  }

  async start(): Promise<void> {
    const o = this.options;
    const media = await makeTempDir('mf-e2e-media-');
    const emu = await makeTempDir('mf-e2e-emulator-');
    this.#temp.push(media, emu);
    this.mediaDir = media.path;
    this.emulatorDataDir = path.join(emu.path, 'data');
    await mkdir(this.emulatorDataDir);
    const kind = o.redis ?? e2eRedisDefaults.redis;
    if (kind === 'standalone') {
      this.redis = await startRedisServer({ appendOnly: o.appendOnlyRedis ?? false });
      this.redisTarget = { mode: 'standalone', url: this.redis.url };
      this.#stopRedis = () => this.redis.stop();
    } else {
      const deployment = await startRedisDeployment(kind);
      this.redisCluster = deployment.cluster;
      this.redisSentinel = deployment.sentinel;
      this.redisTarget = deployment.target;
      this.#stopRedis = deployment.stop;
    }
    const redisEnv: Record<string, string> =
      kind === 'standalone'
        ? { REDIS_URL: this.redis.url }
        : kind === 'cluster'
          ? { REDIS_CLUSTER_NODES: this.redisCluster?.nodesEnv ?? '' }
          : {
              REDIS_SENTINELS: this.redisSentinel?.sentinelsEnv ?? '',
              REDIS_SENTINEL_MASTER: this.redisSentinel?.masterName ?? '',
            };

    for (const name of o.services ?? ['svc-a', 'svc-b']) {
      this.services[name] = {
        name,
        token: `tok-${name}-${randomBytes(12).toString('hex')}`,
        webhookSecret: `whsec-${name}-${randomBytes(12).toString('hex')}`,
      };
    }
    const [emulatorPort, apiPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
    const services = Object.values(this.services);
    this.env = {
      ...redisEnv,
      MEDIAFERRY_QUEUE_SHARDS: String(o.queueShards ?? e2eRedisDefaults.queueShards),
      MEDIAFERRY_REDIS_PREFIX: this.redisPrefix,
      MEDIAFERRY_API_TOKENS: services.map((s) => `${s.name}:${s.token}`).join(','),
      MEDIAFERRY_WEBHOOK_SECRETS: services.map((s) => `${s.name}:${s.webhookSecret}`).join(','),
      MEDIAFERRY_FILE_ROOTS: this.mediaDir,
      MEDIAFERRY_URL_ALLOW_PRIVATE: 'true',
      VOD_ENDPOINT: `http://127.0.0.1:${emulatorPort}`,
      VOD_REGION: 'cn-shanghai',
      ALIBABA_CLOUD_ACCESS_KEY_ID: this.accessKeyId,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: this.accessKeySecret,
      EMULATOR_ACCESS_KEY_ID: this.accessKeyId,
      EMULATOR_ACCESS_KEY_SECRET: this.accessKeySecret,
      EMULATOR_ADMIN_TOKEN: this.adminToken,
      EMULATOR_DATA_DIR: this.emulatorDataDir,
      EMULATOR_PORT: String(emulatorPort),
      // Like a bucket created today: any V1-signed request mediaferry made would fail the run.
      EMULATOR_OSS_SIGNATURES: 'v4-only',
      API_PORT: String(apiPort),
      METRICS_PORT: String(metricsPort),
      BIND_HOST: '127.0.0.1',
      // debug: the secret scan should see the chattiest logs the apps can write.
      LOG_LEVEL: 'debug',
      UPLOAD_PART_SIZE: String(1024 * 1024),
      UPLOAD_PART_PARALLELISM: '4',
      WORKER_CONCURRENCY: '4',
      // stop() should not wait long for in-flight parts.
      WORKER_SHUTDOWN_GRACE_MS: '3000',
      ...o.env,
    };
    this.emulatorUrl = `http://127.0.0.1:${emulatorPort}`;
    this.apiUrl = `http://127.0.0.1:${apiPort}`;
    // `{API_URL}` in a value (e.g. VOD's callback URL) becomes the API's address, known only now.
    for (const [k, v] of Object.entries(this.env)) this.env[k] = v.replaceAll('{API_URL}', this.apiUrl);
    this.metricsUrl = `http://127.0.0.1:${metricsPort}`;
    this.admin = new EmulatorAdminClient(this.emulatorUrl, this.adminToken);

    this.emulator = this.#spawn('emulator', appEntry('emulator'), this.env);
    await pollUntil(
      'the emulator admin API',
      async () => ((await this.admin.health()).ok ? true : undefined),
      {
        watch: [this.emulator],
        timeoutMs: HOOK_TIMEOUT_MS,
      },
    );

    this.api = this.#spawn('api', appEntry('api'), this.env);
    const waits: Promise<void>[] = [
      waitHttpOk(`${this.apiUrl}/readyz`, { watch: [this.api], timeoutMs: HOOK_TIMEOUT_MS }),
    ];
    if (o.metrics ?? true) {
      this.metrics = this.#spawn('metrics', appEntry('metrics'), this.env);
      waits.push(
        waitHttpOk(`${this.metricsUrl}/healthz`, { watch: [this.metrics], timeoutMs: HOOK_TIMEOUT_MS }),
      );
    }
    await Promise.all(waits);
    await Promise.all(Array.from({ length: o.workers ?? 2 }, () => this.startWorker()));
  }

  /** Starts one more worker on a free metrics port and waits for its /healthz. */
  async startWorker(env: Record<string, string> = {}): Promise<WorkerHandle> {
    const index = this.#workers.length;
    const port = await freePort();
    const proc = this.#spawn(`worker-${index}`, appEntry('worker'), {
      ...this.env,
      ...this.options.workerEnv,
      ...env,
      WORKER_METRICS_PORT: String(port),
    });
    const handle: WorkerHandle = {
      index,
      process: proc,
      metricsUrl: `http://127.0.0.1:${port}`,
      kill: (signal) => proc.signal(signal),
    };
    this.#workers.push(handle);
    await waitHttpOk(`${handle.metricsUrl}/healthz`, { watch: [proc], timeoutMs: HOOK_TIMEOUT_MS });
    return handle;
  }

  /**
   * Runs `mediaferry <args>` (apps/cli) as `service` against the API; its output lands in the log
   * book (and so in the secret scan). Resolves with the exit code and what it printed.
   */
  async cli(
    args: string[],
    service = 'svc-a',
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const name = `cli-${this.#apps.filter((p) => p.name.startsWith('cli-')).length}`;
    const proc = this.#spawn(
      name,
      appEntry('cli'),
      {
        MEDIAFERRY_URL: this.apiUrl,
        MEDIAFERRY_TOKEN: this.services[service]?.token ?? '',
      },
      [...args],
    );
    this.#oneShot.add(proc);
    const exit = await proc.exited;
    const lines = this.logs.lines.filter((l) => l.process === name && !l.text.startsWith('<<exited'));
    const text = (stream: 'stdout' | 'stderr') =>
      lines
        .filter((l) => l.stream === stream)
        .map((l) => l.text)
        .join('\n');
    return { code: exit.code, stdout: text('stdout'), stderr: text('stderr') };
  }

  #spawn(name: string, entry: string, env: Record<string, string>, args: string[] = []): AppProcess {
    const p = new AppProcess(name, [entry, ...args], env, this.logs);
    this.#apps.push(p);
    return p;
  }

  /** Processes that exited without the test asking for it. */
  crashed(): AppProcess[] {
    return this.#apps.filter((p) => !p.running && !p.stoppedOnPurpose && !this.#oneShot.has(p));
  }

  /** The secrets this system knows by value. */
  knownSecrets(): NamedSecret[] {
    return [
      { name: 'the AccessKey secret', value: this.accessKeySecret },
      { name: 'the emulator admin token', value: this.adminToken },
      ...Object.values(this.services).map((s) => ({ name: `${s.name}'s API token`, value: s.token })),
      ...Object.values(this.services).map((s) => ({
        name: `${s.name}'s webhook secret`,
        value: s.webhookSecret,
      })),
    ];
  }

  /** Every secret (known values plus STS shapes, plus `extra`) in any log line or API response. */
  scanForSecrets(extra: NamedSecret[] = []): SecretFinding[] {
    const secrets = [...this.knownSecrets(), ...extra];
    const findings: SecretFinding[] = [];
    for (const line of this.logs.lines) findings.push(...scanText(line.text, line.process, secrets));
    for (const r of this.responses)
      findings.push(...scanText(r.body, `response ${r.status} ${r.url}`, secrets));
    return findings;
  }

  /** Status and last lines of every process, for a failing test's output. */
  report(lines = 30): string {
    const out: string[] = [];
    for (const p of this.#apps) {
      const state = p.running
        ? `running (pid ${p.pid})`
        : `exited code=${p.exit?.code} signal=${p.exit?.signal}`;
      out.push(`──── ${p.name}: ${state}`);
      for (const l of this.logs.tail(p.name, lines))
        out.push(`  ${l.stream === 'stderr' ? '!' : ' '} ${l.text.slice(0, 600)}`);
    }
    return out.join('\n');
  }

  /** Stops every process (thawing stopped ones), then Redis, then removes temp dirs. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      const workers = this.#workers.map((w) => w.process);
      const others = this.#apps.filter((p) => !workers.includes(p) && p !== this.emulator);
      for (const group of [workers, others, this.emulator ? [this.emulator] : []]) {
        await Promise.all(group.map((p) => p.stop().catch(() => undefined)));
      }
      await this.#stopRedis().catch(() => undefined);
      await Promise.all(this.#temp.map((t) => t.remove().catch(() => undefined)));
    })();
    return this.#stopping;
  }
}

/** Starts a System; on failure stops whatever started and throws with every process's log tail. */
export async function startSystem(options: SystemOptions = {}): Promise<System> {
  const system = new System(options);
  try {
    await system.start();
    return system;
  } catch (err) {
    const report = system.report();
    await system.stop();
    throw new Error(`the system did not start: ${(err as Error).message}\n${report}`, { cause: err });
  }
}
