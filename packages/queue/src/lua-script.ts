import { createHash } from 'node:crypto';
import type { ChainableCommander, Redis } from 'ioredis';

/**
 * A Lua script run with EVALSHA, falling back to EVAL when the server does not know it yet
 * (first call, or after a Redis restart flushed the script cache).
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

  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    this.check(keys);
    try {
      return await redis.evalsha(this.sha, this.numberOfKeys, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return await redis.eval(this.source, this.numberOfKeys, ...keys, ...args);
    }
  }

  /** Makes sure the server knows the script, so a following pipeline can use EVALSHA. */
  async load(redis: Redis): Promise<void> {
    await redis.script('LOAD', this.source);
  }

  /** Queues the script on a pipeline with EVALSHA; call `load()` just before. */
  queue(pipeline: ChainableCommander, keys: readonly string[], args: readonly (string | number)[]): void {
    this.check(keys);
    pipeline.evalsha(this.sha, this.numberOfKeys, ...keys, ...args);
  }

  private check(keys: readonly string[]): void {
    if (keys.length !== this.numberOfKeys)
      throw new Error(`${this.name}: expected ${this.numberOfKeys} keys, got ${keys.length}`);
  }
}
