import { LuaScript } from './lua-script.js';

/*
 * The job store's atomic steps. Each runs as one Lua script, so concurrent API replicas and workers
 * never see a half-done change. The scripts also touch the per-service index keys and the
 * idempotency key named inside the record (derived, not passed in KEYS): all of them carry the job's
 * partition hash tag (see StoreKeys), so each script stays in one Redis Cluster slot. The
 * cluster test (`key-slots.cluster.test.ts`) checks every key each script touches.
 */

/**
 * Creates a job record, or returns the job an idempotency key already points to. The job's secrets
 * (a URL source's request headers) go to their own key, never into the record.
 * KEYS[1] job record, KEYS[2] idempotency key (KEYS[1] again when there is none), KEYS[3] job secret
 * ARGV: 1 id, 2 service, 3 spec JSON (without secrets), 4 spec hash, 5 progress JSON, 6 now ms,
 *       7 has key '1'|'0', 8 job key prefix, 9 index key prefix (both of the job's partition),
 *       10 secret JSON ('' none)
 * → {1, id, hash} created | {0, existingId, existingHash} an earlier job holds the key
 */
export const createJobScript = new LuaScript(
  'createJob',
  `
if ARGV[7] == '1' then
  local existing = redis.call('GET', KEYS[2])
  if existing then
    local hash = redis.call('HGET', ARGV[8] .. existing, 'specHash')
    if hash then return {0, existing, hash} end
    -- the key outlived its (expired) record: it is free again
  end
  redis.call('SET', KEYS[2], ARGV[1])
end
local idem = ''
if ARGV[7] == '1' then idem = KEYS[2] end
if ARGV[10] ~= '' then redis.call('SET', KEYS[3], ARGV[10]) end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'service', ARGV[2], 'status', 'queued', 'spec', ARGV[3],
  'specHash', ARGV[4], 'idemKey', idem, 'progress', ARGV[5], 'attempts', '0', 'attemptsBase', '0', 'runner', '',
  'result', '', 'error', '', 'createdAt', ARGV[6], 'startedAt', '', 'finishedAt', '', 'updatedAt', ARGV[6])
redis.call('ZADD', ARGV[9] .. ARGV[2] .. ':all', 0, ARGV[1])
redis.call('ZADD', ARGV[9] .. ARGV[2] .. ':queued', 0, ARGV[1])
return {1, ARGV[1], ARGV[4]}
`,
  3,
);

/**
 * Moves a record from one of the allowed statuses to another (or keeps the status and updates
 * fields), keeps the status indexes in step, sets or clears the retention TTL and publishes the
 * event, all at once. A transition from a status not in the list changes nothing: that is how a
 * late worker cannot turn a canceled job into a succeeded one, and how a job completes once.
 * A run token (`runner`, set by `start`) guards the writes of one run: a worker that lost its job to
 * another (stalled past its lock, then woke up) cannot move the other worker's record.
 * The job's secret key follows the record: kept while the job may run (queued, running, and failed or
 * canceled, which a retry runs again), with the record's TTL once finished, deleted on `succeeded`.
 * KEYS[1] job record, KEYS[2] job secret
 * ARGV: 1 allowed current statuses (comma list), 2 new status ('' keeps), 3 now ms,
 *       4 index key prefix, 5 TTL seconds to set ('0' none; terminal states), 6 event channel,
 *       7 event payload ('' none), 8 attempt number of the run starting ('' none),
 *       9 '1' sets startedAt when unset, 10 '1' rebases attempts (manual retry),
 *       11 run token the record must hold ('' any), 12 run token to set ('' keeps),
 *       13 '1' deletes the job secret, 14.. field/value pairs to set
 * → {1, status, record pairs} | {0, current status, record pairs} | {-1, '', {}} missing
 */
export const transitionJobScript = new LuaScript(
  'transitionJob',
  `
local cur = redis.call('HGET', KEYS[1], 'status')
if not cur then return {-1, '', {}} end
local allowed = false
for s in string.gmatch(ARGV[1], '[^,]+') do
  if s == cur then allowed = true end
end
if not allowed then return {0, cur, redis.call('HGETALL', KEYS[1])} end
if ARGV[11] ~= '' and (redis.call('HGET', KEYS[1], 'runner') or '') ~= ARGV[11] then
  return {0, cur, redis.call('HGETALL', KEYS[1])}
end
if ARGV[12] ~= '' then redis.call('HSET', KEYS[1], 'runner', ARGV[12]) end
local to = ARGV[2]
if to == '' then to = cur end
if to ~= cur then
  local svc = redis.call('HGET', KEYS[1], 'service')
  local id = redis.call('HGET', KEYS[1], 'id')
  redis.call('ZREM', ARGV[4] .. svc .. ':' .. cur, id)
  redis.call('ZADD', ARGV[4] .. svc .. ':' .. to, 0, id)
  redis.call('HSET', KEYS[1], 'status', to)
end
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[3])
if ARGV[10] == '1' then
  redis.call('HSET', KEYS[1], 'attemptsBase', redis.call('HGET', KEYS[1], 'attempts') or '0')
end
if ARGV[8] ~= '' then
  local base = tonumber(redis.call('HGET', KEYS[1], 'attemptsBase') or '0') or 0
  redis.call('HSET', KEYS[1], 'attempts', tostring(base + tonumber(ARGV[8])))
end
if ARGV[9] == '1' and (redis.call('HGET', KEYS[1], 'startedAt') or '') == '' then
  redis.call('HSET', KEYS[1], 'startedAt', ARGV[3])
end
for i = 14, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
local idem = redis.call('HGET', KEYS[1], 'idemKey') or ''
local ttl = tonumber(ARGV[5]) or 0
if ARGV[13] == '1' then redis.call('DEL', KEYS[2]) end
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  if idem ~= '' then redis.call('EXPIRE', idem, ttl) end
  redis.call('EXPIRE', KEYS[2], ttl)
elseif to == 'queued' or to == 'running' then
  redis.call('PERSIST', KEYS[1])
  if idem ~= '' then redis.call('PERSIST', idem) end
  redis.call('PERSIST', KEYS[2])
end
if ARGV[7] ~= '' then redis.call('PUBLISH', ARGV[6], ARGV[7]) end
return {1, to, redis.call('HGETALL', KEYS[1])}
`,
  2,
);
