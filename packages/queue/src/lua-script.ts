import { createHash } from 'node:crypto';
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from './redis-connection.js';

/** One call of a script in `runMany`. */
export interface LuaScriptCall {
  keys: readonly string[];
  args: readonly (string | number)[];
}

/** ioredis' pipeline reply shape: one `[error, reply]` per command. */
export type LuaScriptReply = [Error | null, unknown];

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

/**
 * A Lua script run with EVALSHA, falling back to EVAL when the server does not know it yet
 * (first call, or after a Redis restart flushed the script cache). EVAL caches the script on the
 * server, so the fallback costs one extra round trip once per server start, never per call.
 */
export class LuaScript {
  readonly sha: string;

  constructor(
    readonly name: string,
    readonly source: string,
    readonly numberOfKeys: number,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(
    redis: RedisClient,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    this.check(keys);
    try {
      return await redis.evalsha(this.sha, this.numberOfKeys, ...keys, ...args);
    } catch (err) {
      if (!isNoScript(err)) throw err;
      return await redis.eval(this.source, this.numberOfKeys, ...keys, ...args);
    }
  }

  /**
   * Many calls in one pipeline (one round trip), replies in call order. Calls the server refused
   * with NOSCRIPT did not run, so they are sent again with EVAL (a second round trip, only after a
   * script cache flush). Other errors are returned in their slot, not thrown.
   */
  async runMany(redis: RedisClient, calls: readonly LuaScriptCall[]): Promise<LuaScriptReply[]> {
    if (calls.length === 0) return [];
    if (calls.length === 1 || redis.isCluster) {
      // A pipeline object costs more than one call (ioredis copies every script defined on the
      // connection into it, and BullMQ defines dozens), and on a cluster one pipeline cannot carry
      // calls to different slots: each call goes alone (auto-pipelining, where on, batches them).
      return await Promise.all(
        calls.map(async (call): Promise<LuaScriptReply> => {
          try {
            return [null, await this.run(redis, call.keys, call.args)];
          } catch (err) {
            return [err instanceof Error ? err : new Error(String(err)), null];
          }
        }),
      );
    }
    const pipeline = redis.pipeline();
    for (const call of calls) this.queue(pipeline, call.keys, call.args);
    const replies = ((await pipeline.exec()) ?? []) as LuaScriptReply[];
    const missing = calls.flatMap((_, i) => (isNoScript(replies[i]?.[0]) ? [i] : []));
    if (missing.length === 0) return replies;
    const retry = redis.pipeline();
    for (const i of missing) {
      const call = calls[i] as LuaScriptCall;
      retry.eval(this.source, this.numberOfKeys, ...call.keys, ...call.args);
    }
    const again = ((await retry.exec()) ?? []) as LuaScriptReply[];
    for (const [j, i] of missing.entries()) replies[i] = again[j] ?? [new Error('no reply'), null];
    return replies;
  }

  /** Makes sure the server knows the script (for pipelines built by hand with `queue`). */
  async load(redis: RedisClient): Promise<void> {
    await redis.script('LOAD', this.source);
  }

  /**
   * Queues the script on a pipeline with EVALSHA. A reply of NOSCRIPT means it did not run: prefer
   * `runMany`, which handles that, or call `load()` first.
   */
  queue(pipeline: ChainableCommander, keys: readonly string[], args: readonly (string | number)[]): void {
    this.check(keys);
    pipeline.evalsha(this.sha, this.numberOfKeys, ...keys, ...args);
  }

  private check(keys: readonly string[]): void {
    if (keys.length !== this.numberOfKeys)
      throw new Error(`${this.name}: expected ${this.numberOfKeys} keys, got ${keys.length}`);
  }
}
