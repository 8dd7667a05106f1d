import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createAccountOssClient, OssStorageTarget, VodClient, VodStorageTarget } from '@mediaferry/aliyun';
import type { MediaSpec, Source, SourceOpenOptions, SourceReader } from '@mediaferry/core';
import { crc64 } from '@mediaferry/crc64';
import { type Emulator, startEmulator } from '@mediaferry/emulator';
import { closeSourcePolicy, createSource, type SourcePolicy } from '@mediaferry/sources';
import { makeTempDir, type RedisServer, startRedisServer, type TempDir } from '@mediaferry/testkit';
import { Redis } from 'ioredis';
import { RedisCheckpointStore } from '../redis-checkpoint.store.js';
import { UploadEngine } from '../upload-engine.js';
import type { UploadEngineOptions } from '../upload-engine.options.js';
import { type MediaServer, startMediaServer } from './media-server.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;

export const md5 = (data: Uint8Array) => createHash('md5').update(data).digest('hex');

/**
 * Real parts for engine integration tests: a private redis-server, the VOD + OSS emulator, real
 * sources (files in a temp root, URLs on real HTTP servers), ali-oss / openapi-core targets.
 */
export class EngineFixture {
  readonly redisClients: Redis[] = [];
  readonly mediaServers: MediaServer[] = [];
  readonly policy: SourcePolicy;
  readonly vod: VodClient;

  private constructor(
    readonly emu: Emulator,
    readonly redis: RedisServer,
    readonly dir: TempDir,
  ) {
    this.policy = { fileRoots: [dir.path], allowPrivate: true, maxUrlBytes: 64 * MiB };
    this.vod = new VodClient({
      endpoint: emu.vodEndpoint,
      regionId: emu.region,
      accessKeyId: emu.accessKeyId,
      accessKeySecret: emu.accessKeySecret,
    });
  }

  static async start(): Promise<EngineFixture> {
    const [emu, redis, dir] = await Promise.all([
      startEmulator({ ossSignatures: 'v4-only' }),
      startRedisServer(),
      makeTempDir('mf-engine-'),
    ]);
    return new EngineFixture(emu, redis, dir);
  }

  /** A checkpoint store on its own Redis connection, as another worker process would have. */
  store(): RedisCheckpointStore {
    const client = new Redis(this.redis.url, { maxRetriesPerRequest: 1 });
    this.redisClients.push(client);
    return new RedisCheckpointStore({ redis: client });
  }

  /** A fresh engine (own store connection) with small parts and fast retries. */
  engine(options: Partial<UploadEngineOptions> = {}): UploadEngine {
    return new UploadEngine({
      checkpoints: this.store(),
      partSize: 128 * KiB,
      parallelism: 3,
      backoff: { baseMs: 5, maxMs: 50 },
      ...options,
    });
  }

  async writeFile(size: number, name = `${randomUUID()}.mp4`): Promise<{ path: string; data: Buffer }> {
    const data = randomBytes(size);
    const file = path.join(this.dir.path, name);
    await writeFile(file, data);
    return { path: file, data };
  }

  fileSource(file: string): Source {
    return createSource({ type: 'file', path: file }, this.policy);
  }

  urlSource(url: string): Source {
    return createSource({ type: 'url', url }, this.policy);
  }

  async mediaServer(data: Buffer): Promise<MediaServer> {
    const server = await startMediaServer(data);
    this.mediaServers.push(server);
    return server;
  }

  vodTarget(media: MediaSpec = { type: 'video', title: `clip ${randomUUID()}` }, onRefresh?: () => void) {
    return new VodStorageTarget({
      vod: this.vod,
      media,
      ...(onRefresh ? { onCredentialRefresh: onRefresh } : {}),
    });
  }

  ossTarget(key = `dir/${randomUUID()}.mp4`): OssStorageTarget {
    return new OssStorageTarget({ account: this.#account(), bucket: this.emu.buckets[0]!, key });
  }

  /** The object's bytes, read back with the account AccessKey through ali-oss, and their digests. */
  async readBack(bucket: string, key: string): Promise<{ data: Buffer; md5: string; crc64: string }> {
    const handle = createAccountOssClient({ ...this.#account(), bucket });
    const client = handle.client as unknown as { get(name: string): Promise<{ content: Buffer }> };
    const { content } = await client.get(key);
    return { data: content, md5: md5(content), crc64: crc64(content).toString() };
  }

  async close(): Promise<void> {
    for (const c of this.redisClients) c.disconnect();
    await Promise.allSettled(this.mediaServers.map((s) => s.close()));
    await closeSourcePolicy(this.policy);
    await Promise.allSettled([this.emu.close(), this.redis.stop()]);
    await this.dir.remove();
  }

  #account() {
    return {
      endpoint: this.emu.ossEndpoint,
      region: this.emu.region,
      accessKeyId: this.emu.accessKeyId,
      accessKeySecret: this.emu.accessKeySecret,
    };
  }
}

/**
 * Passes a real source through and aborts `controller` once `limit` bytes have been read (an engine
 * killed at an arbitrary point of its transfer).
 */
export function abortAfterBytes(source: Source, limit: number, controller: AbortController): Source {
  let read = 0;
  return {
    kind: source.kind,
    description: source.description,
    stat: (signal) => source.stat(signal),
    async open(options: SourceOpenOptions): Promise<SourceReader> {
      const reader = await source.open(options);
      return {
        get position() {
          return reader.position;
        },
        async read(target, signal) {
          const n = await reader.read(target, signal);
          read += n;
          if (read >= limit) controller.abort(new Error(`killed after ${read} bytes`));
          return n;
        },
        close: () => reader.close(),
      };
    },
  };
}

/** Random integer in [min, max). */
export function randomBetween(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min));
}
