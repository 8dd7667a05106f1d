/**
 * EXPERIMENT, not the product: the API of `apps/api/src/main.ts` (same `buildApi`, same config) with
 * switches that emulate a proposed fix, so the benchmark can measure a fix before anyone writes it.
 * `api-enqueue.bench.ts` runs it instead of `apps/api/dist/main.js` when BENCH_API_WHATIF lists
 * switches (comma-separated):
 *
 * - `script-load-once`: JobStore sends SCRIPT LOAD once per connection instead of before every create.
 * - `autopipeline`: ioredis auto-pipelining on the API's connection (commands issued in the same
 *   event-loop turn share one socket write).
 * - `no-source-check`: skips the file check (realpath of the roots and the file, statfs, stat): the
 *   upper bound of what caching the roots' realpath and the filesystem type can save.
 */

import { buildApi } from '@mediaferry/api/dist/build-api.js';
import { loadConfigOrExit } from '@mediaferry/config';
import {
  closeRedis,
  createRedis,
  createUploadQueue,
  JobEventBus,
  JobStore,
  LuaScript,
} from '@mediaferry/queue';
import { assertSourceAllowed, sourcePolicyFromConfig } from '@mediaferry/sources';
import { createLogger } from '@mediaferry/telemetry';

const switches = new Set((process.env.BENCH_API_WHATIF ?? '').split(',').filter(Boolean));
const known = ['script-load-once', 'autopipeline', 'no-source-check'];
for (const s of switches) if (!known.includes(s)) throw new Error(`unknown what-if switch ${s}`);

if (switches.has('script-load-once')) {
  const loaded = new WeakMap<object, Set<string>>();
  const original = LuaScript.prototype.load;
  LuaScript.prototype.load = async function load(this: LuaScript, redis) {
    const shas = loaded.get(redis) ?? new Set<string>();
    loaded.set(redis, shas);
    if (shas.has(this.sha)) return;
    await original.call(this, redis);
    shas.add(this.sha);
  };
}

const config = loadConfigOrExit(process.env);
const logger = createLogger({ name: 'api', level: config.logLevel });
const redis = createRedis(config.redisUrl, { role: 'client', logger, connectionName: 'mediaferry-api' });
if (switches.has('autopipeline')) redis.options.enableAutoPipelining = true;
const subscriber = createRedis(config.redisUrl, { role: 'subscriber', logger });
const store = new JobStore(redis, { prefix: config.redisPrefix });
const queue = createUploadQueue(redis, { prefix: config.redisPrefix });
const policy = sourcePolicyFromConfig(config);
const app = await buildApi({
  config,
  redis,
  queue,
  store,
  events: new JobEventBus(subscriber, store.keys, logger),
  logger,
  checkSource: switches.has('no-source-check')
    ? async () => {}
    : (source, signal) => assertSourceAllowed(source, policy, signal),
});
logger.warn({ whatIf: [...switches] }, 'what-if API (a benchmark experiment) started');
process.once('SIGTERM', () => {
  void (async () => {
    await app.close();
    await queue.close();
    await closeRedis(redis);
    await closeRedis(subscriber);
    process.exit(0);
  })();
});
await app.listen({ port: config.apiPort, host: config.bindHost });
