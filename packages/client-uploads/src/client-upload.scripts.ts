import { LuaScript } from '@mediaferry/queue';

/*
 * The atomic steps of client-upload records. Every key a script touches is in the service's
 * `{cu:<service>}` slot: index and quota key names are derived from ARGV[1], the service key prefix
 * (see ClientUploadKeys), and from fields of the record.
 */

/**
 * Rate check, idempotency, per-end-user quotas and the new record, at once: concurrent duplicates
 * see one record; a refused request leaves nothing (but counts against the rate).
 * KEYS[1] record, KEYS[2] idempotency key (KEYS[1] when none)
 * ARGV: 1 service prefix, 2 id, 3 now ms, 4 has idempotency key '1'|'0', 5 request hash,
 *       6 minute bucket, 7 requests per minute, 8 end-user hash ('' none), 9 max open ('0' none),
 *       10 max bytes per day ('0' none), 11 UTC day, 12 file size, 13 deadline ms, 14 lease token,
 *       15 lease until ms, 16.. field/value pairs
 * → {'created', id} | {'existing', id} | {'conflict', id} | {'rate', count} | {'open_quota', open}
 *   | {'bytes_quota', used}
 */
export const createScript = new LuaScript(
  'cuCreate',
  `
local p = ARGV[1]
local rpmKey = p .. 'rpm:' .. ARGV[6]
local count = redis.call('INCR', rpmKey)
if count == 1 then redis.call('EXPIRE', rpmKey, 120) end
if count > tonumber(ARGV[7]) then return {'rate', tostring(count)} end
if ARGV[4] == '1' then
  local existing = redis.call('GET', KEYS[2])
  if existing then
    local hash = redis.call('HGET', p .. 'r:' .. existing, 'requestHash')
    if hash then
      if hash == ARGV[5] then return {'existing', existing} end
      return {'conflict', existing}
    end
  end
end
local user = ARGV[8]
local size = tonumber(ARGV[12])
if user ~= '' then
  if ARGV[9] ~= '0' then
    local open = redis.call('SCARD', p .. 'uopen:' .. user)
    if open >= tonumber(ARGV[9]) then return {'open_quota', tostring(open)} end
  end
  if ARGV[10] ~= '0' then
    local used = tonumber(redis.call('GET', p .. 'ubytes:' .. user .. ':' .. ARGV[11]) or '0')
    if used + size > tonumber(ARGV[10]) then return {'bytes_quota', tostring(used)} end
  end
end
local id = ARGV[2]
local idem = ''
if ARGV[4] == '1' then
  redis.call('SET', KEYS[2], id)
  idem = KEYS[2]
end
redis.call('HSET', KEYS[1], 'id', id, 'status', 'issued', 'requestHash', ARGV[5], 'idemKey', idem,
  'endUserHash', user, 'fileSize', ARGV[12], 'deadline', ARGV[13], 'createdAt', ARGV[3], 'updatedAt', ARGV[3],
  'lease', ARGV[14], 'leaseUntil', ARGV[15], 'refreshes', '0', 'day', ARGV[11])
for i = 16, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('ZADD', p .. 'all', 0, id)
redis.call('ZADD', p .. 's:issued', 0, id)
redis.call('ZADD', p .. 'open', tonumber(ARGV[13]), id)
if user ~= '' then
  redis.call('ZADD', p .. 'u:' .. user, 0, id)
  redis.call('SADD', p .. 'uopen:' .. user, id)
  local bytesKey = p .. 'ubytes:' .. user .. ':' .. ARGV[11]
  redis.call('INCRBY', bytesKey, size)
  redis.call('EXPIRE', bytesKey, 172800)
end
return {'created', id}
`,
  2,
);

/**
 * Changes a record only from an allowed status (and, when asked, only for the holder of its lease),
 * keeping indexes, open sets and TTLs in step. Finishing removes it from the open sets and gives the
 * record and its idempotency key the retention TTL.
 * KEYS[1] record
 * ARGV: 1 service prefix, 2 allowed statuses (comma list), 3 new status ('' keeps), 4 now ms,
 *       5 TTL seconds when finishing, 6 lease the record must hold ('' any), 7 '1' releases the lease,
 *       8 '1' increments refreshes, 9.. field/value pairs
 * → {1, record pairs} | {0, record pairs} (not allowed) | {-1} (missing)
 */
export const transitionScript = new LuaScript(
  'cuTransition',
  `
local p = ARGV[1]
local cur = redis.call('HMGET', KEYS[1], 'id', 'status', 'lease', 'endUserHash', 'idemKey')
if not cur[1] then return {-1} end
local id, status = cur[1], cur[2]
local allowed = false
for s in string.gmatch(ARGV[2], '[^,]+') do if s == status then allowed = true end end
if ARGV[6] ~= '' and cur[3] ~= ARGV[6] then allowed = false end
if not allowed then return {0, redis.call('HGETALL', KEYS[1])} end
for i = 9, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[4])
if ARGV[7] == '1' then redis.call('HSET', KEYS[1], 'lease', '', 'leaseUntil', '0') end
if ARGV[8] == '1' then redis.call('HINCRBY', KEYS[1], 'refreshes', 1) end
local to = ARGV[3]
if to ~= '' and to ~= status then
  redis.call('HSET', KEYS[1], 'status', to)
  redis.call('ZREM', p .. 's:' .. status, id)
  redis.call('ZADD', p .. 's:' .. to, 0, id)
  if to ~= 'issued' then
    redis.call('HSET', KEYS[1], 'finishedAt', ARGV[4])
    redis.call('ZREM', p .. 'open', id)
    if cur[4] and cur[4] ~= '' then redis.call('SREM', p .. 'uopen:' .. cur[4], id) end
    local ttl = tonumber(ARGV[5])
    if ttl > 0 then
      redis.call('EXPIRE', KEYS[1], ttl)
      if cur[5] and cur[5] ~= '' then redis.call('EXPIRE', cur[5], ttl) end
    end
  end
end
return {1, redis.call('HGETALL', KEYS[1])}
`,
  1,
);

/**
 * Takes the record's lease (who may call VOD for it: create, or re-create an image) when it is
 * issued and the lease is free or lapsed.
 * KEYS[1] record; ARGV: 1 token, 2 now ms, 3 lease until ms
 * → {1} taken | {0, status} not issued | {-2, leaseUntil} held by another | {-1} missing
 */
export const leaseScript = new LuaScript(
  'cuLease',
  `
local cur = redis.call('HMGET', KEYS[1], 'id', 'status', 'lease', 'leaseUntil')
if not cur[1] then return {-1} end
if cur[2] ~= 'issued' then return {0, cur[2]} end
if cur[3] and cur[3] ~= '' and cur[3] ~= ARGV[1] and tonumber(cur[4] or '0') > tonumber(ARGV[2]) then
  return {-2, cur[4]}
end
redis.call('HSET', KEYS[1], 'lease', ARGV[1], 'leaseUntil', ARGV[3])
return {1}
`,
  1,
);

/**
 * Undoes a create whose VOD call failed (no media exists): the record, its idempotency key, its
 * index entries and the quota it took go, so a repeat of the same request starts afresh.
 * KEYS[1] record; ARGV: 1 service prefix, 2 lease token → 1 dropped | 0 not ours / has a media
 */
export const dropScript = new LuaScript(
  'cuDrop',
  `
local p = ARGV[1]
local cur = redis.call('HMGET', KEYS[1], 'id', 'lease', 'mediaId', 'idemKey', 'endUserHash', 'fileSize', 'day', 'status')
if not cur[1] or cur[2] ~= ARGV[2] or (cur[3] and cur[3] ~= '') then return 0 end
local id = cur[1]
if cur[4] and cur[4] ~= '' then redis.call('DEL', cur[4]) end
redis.call('ZREM', p .. 'all', id)
redis.call('ZREM', p .. 's:' .. cur[8], id)
redis.call('ZREM', p .. 'open', id)
if cur[5] and cur[5] ~= '' then
  redis.call('ZREM', p .. 'u:' .. cur[5], id)
  redis.call('SREM', p .. 'uopen:' .. cur[5], id)
  local bytesKey = p .. 'ubytes:' .. cur[5] .. ':' .. cur[7]
  if redis.call('EXISTS', bytesKey) == 1 then redis.call('DECRBY', bytesKey, tonumber(cur[6])) end
end
redis.call('DEL', KEYS[1])
return 1
`,
  1,
);
