import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * The Lua scripts that give BullMQ's job records the Queue port's lease semantics. They work on
 * BullMQ's own keys (`<prefix>:<queue>:prioritized|delayed|active|failed|completed|pc`, the job
 * hash `<prefix>:<queue>:<id>` with BullMQ's fields `data`, `opts`, `priority`, `timestamp`,
 * `ats`, `atm`, `failedReason`, `finishedOn`, `processedOn`, `deid`) plus two of tny's:
 * `<prefix>:<queue>:tny:leases` (job id → lease expiry, epoch ms of the injected clock) and
 * `<prefix>:<queue>:tny:dead` (dead job ids, scored by id for cursor paging). The job field
 * `tnyToken` is the lease token. Every script takes `now` from the caller's clock, never from
 * Redis or BullMQ, so visibility timeouts, delays and dedupe windows follow the injected clock.
 *
 * Keys (same order in every script): 1 prioritized, 2 delayed, 3 active, 4 leases, 5 failed,
 * 6 dead, 7 completed, 8 pc (BullMQ's priority counter). ARGV[1] is the job key prefix
 * (`<prefix>:<queue>:`), ARGV[2] now.
 */
const COMMON = `
local rcall = redis.call
local pre = ARGV[1]
local now = tonumber(ARGV[2])
local function maxAttempts(jk)
  local ok, o = pcall(cjson.decode, rcall('HGET', jk, 'opts') or '{}')
  return (ok and type(o) == 'table' and tonumber(o['attempts'])) or 1
end
local function toReady(id, jk)
  local p = tonumber(rcall('HGET', jk, 'priority')) or 0
  local c = rcall('INCR', KEYS[8])
  rcall('ZADD', KEYS[1], p * 0x100000000 + c % 0x100000000, id)
end
local function kill(id, jk, err)
  rcall('ZREM', KEYS[1], id)
  rcall('ZREM', KEYS[2], id)
  rcall('ZREM', KEYS[4], id)
  rcall('LREM', KEYS[3], 1, id)
  rcall('HINCRBY', jk, 'atm', 1)
  rcall('HSET', jk, 'failedReason', err, 'finishedOn', now)
  rcall('ZADD', KEYS[5], now, id)
  rcall('ZADD', KEYS[6], tonumber(id), id)
end
-- The job if token still holds it: leased (or lease expired, or put back by an expired lease
-- and not leased again since); with orDead also dead (a late ack clears it).
local function held(id, jk, token, orDead)
  if rcall('HGET', jk, 'tnyToken') ~= token then return false end
  if rcall('ZSCORE', KEYS[6], id) then return orDead end
  return rcall('ZSCORE', KEYS[4], id) ~= false or rcall('ZSCORE', KEYS[1], id) ~= false
end
`;

/** ARGV: 3 max, 4 visibilityMs, 5 token, 6 withNextDue. Returns {jobs, nextDueAt|-1}. */
const LEASE = `${COMMON}
local max = tonumber(ARGV[3])
local vis = tonumber(ARGV[4])
local token = ARGV[5]
-- Expired leases: back to ready (attempts left) or dead (the last attempt expired).
local expired = rcall('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, 1000)
for _, id in ipairs(expired) do
  local jk = pre .. id
  rcall('ZREM', KEYS[4], id)
  rcall('LREM', KEYS[3], 1, id)
  local started = tonumber(rcall('HGET', jk, 'ats')) or 0
  local ma = maxAttempts(jk)
  if started >= ma then
    local err = rcall('HGET', jk, 'failedReason')
    if not err or err == '' then err = 'lease expired on attempt ' .. started .. ' of ' .. ma end
    kill(id, jk, err)
  else
    toReady(id, jk)
  end
end
-- Due delayed jobs (BullMQ's score: due ms * 0x1000 + counter) join the prioritized set.
local due = rcall('ZRANGEBYSCORE', KEYS[2], 0, (now + 1) * 0x1000 - 1, 'LIMIT', 0, 5000)
for _, id in ipairs(due) do
  rcall('ZREM', KEYS[2], id)
  toReady(id, pre .. id)
end
local out = {}
while #out < max do
  local ids = rcall('ZRANGE', KEYS[1], 0, max - #out - 1)
  if #ids == 0 then break end
  for _, id in ipairs(ids) do
    rcall('ZREM', KEYS[1], id)
    local jk = pre .. id
    if rcall('EXISTS', jk) == 1 then
      local started = rcall('HINCRBY', jk, 'ats', 1)
      rcall('HSET', jk, 'tnyToken', token, 'processedOn', now)
      rcall('LPUSH', KEYS[3], id)
      rcall('ZADD', KEYS[4], now + vis, id)
      local f = rcall('HMGET', jk, 'data', 'priority', 'timestamp')
      out[#out + 1] = {id, f[1], started, maxAttempts(jk), tonumber(f[2]) or 0, tonumber(f[3]) or 0}
    end
  end
end
local nextDue = -1
if #out == 0 and ARGV[6] == '1' then
  local d = rcall('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  if d[2] then nextDue = math.floor(tonumber(d[2]) / 0x1000) end
  local l = rcall('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
  if l[2] and (nextDue < 0 or tonumber(l[2]) < nextDue) then nextDue = tonumber(l[2]) end
end
return {out, nextDue}
`;

/** ARGV: 3 id, 4 token, 5 new expiry. Returns 1, or 0 when the lease is lost. */
const EXTEND = `${COMMON}
local id = ARGV[3]
local jk = pre .. id
if not held(id, jk, ARGV[4], false) then return 0 end
if rcall('ZREM', KEYS[1], id) == 1 then rcall('LPUSH', KEYS[3], id) end
rcall('ZADD', KEYS[4], tonumber(ARGV[5]), id)
return 1
`;

/** ARGV: 3 id, 4 token, 5 keepUntil (0: delete the job now). Returns 1, or 0 when the lease is lost. */
const ACK = `${COMMON}
local id = ARGV[3]
local jk = pre .. id
if not held(id, jk, ARGV[4], true) then return 0 end
rcall('ZREM', KEYS[1], id)
rcall('ZREM', KEYS[4], id)
rcall('ZREM', KEYS[5], id)
rcall('ZREM', KEYS[6], id)
rcall('LREM', KEYS[3], 1, id)
local deid = rcall('HGET', jk, 'deid')
local keep = tonumber(ARGV[5])
if deid and keep > 0 then
  rcall('HDEL', jk, 'tnyToken')
  rcall('HSET', jk, 'data', 'null', 'finishedOn', now, 'tnyKeepUntil', keep)
  -- Scored by the end of its window (not BullMQ's finishedOn), so the purge below is a range.
  rcall('ZADD', KEYS[7], keep, id)
  -- Purge a few jobs whose window has passed, so keys that are never enqueued again do not
  -- pile up: two per ack keeps up with any ack rate.
  for _, old in ipairs(rcall('ZRANGEBYSCORE', KEYS[7], '-inf', now, 'LIMIT', 0, 2)) do
    local ok = pre .. old
    local odeid = rcall('HGET', ok, 'deid')
    if odeid and rcall('GET', pre .. 'de:' .. odeid) == old then rcall('DEL', pre .. 'de:' .. odeid) end
    rcall('DEL', ok, ok .. ':logs')
    rcall('ZREM', KEYS[7], old)
  end
else
  if deid then
    local dk = pre .. 'de:' .. deid
    if rcall('GET', dk) == id then rcall('DEL', dk) end
  end
  rcall('DEL', jk, jk .. ':logs')
end
return 1
`;

/**
 * ARGV: 3 id, 4 token, 5 '1' retryable, 6 delayMs, 7 error ('' none), 8 default dead reason.
 * Returns {0} lease lost, {1, runAt} retry, {2} dead.
 */
const NACK = `${COMMON}
local id = ARGV[3]
local jk = pre .. id
if not held(id, jk, ARGV[4], false) then return {0} end
local started = tonumber(rcall('HGET', jk, 'ats')) or 0
if ARGV[5] ~= '1' or started >= maxAttempts(jk) then
  local err = ARGV[7]
  if err == '' then err = ARGV[8] end
  kill(id, jk, err)
  return {2}
end
rcall('ZREM', KEYS[1], id)
rcall('ZREM', KEYS[4], id)
rcall('LREM', KEYS[3], 1, id)
rcall('HDEL', jk, 'tnyToken')
rcall('HINCRBY', jk, 'atm', 1)
if ARGV[7] == '' then rcall('HDEL', jk, 'failedReason') else rcall('HSET', jk, 'failedReason', ARGV[7]) end
local runAt = now + tonumber(ARGV[6])
if runAt > now then
  local c = rcall('INCR', KEYS[8])
  rcall('ZADD', KEYS[2], runAt * 0x1000 + c % 0x1000, id)
else
  toReady(id, jk)
end
return {1, runAt}
`;

/** ARGV: 3 id. Returns 1, or 0 when no dead job has this id. */
const RETRY_DEAD = `${COMMON}
local id = ARGV[3]
local jk = pre .. id
if rcall('ZREM', KEYS[6], id) == 0 then return 0 end
rcall('ZREM', KEYS[5], id)
rcall('HSET', jk, 'ats', 0, 'atm', 0)
rcall('HDEL', jk, 'tnyToken', 'finishedOn')
toReady(id, jk)
return 1
`;

/** Returns {ready, delayed, leased, dead}. */
const STATS = `${COMMON}
local dueDelayed = rcall('ZCOUNT', KEYS[2], 0, (now + 1) * 0x1000 - 1)
local expired = rcall('ZCOUNT', KEYS[4], '-inf', now)
return {rcall('ZCARD', KEYS[1]) + dueDelayed + expired, rcall('ZCARD', KEYS[2]) - dueDelayed,
  rcall('ZCARD', KEYS[4]) - expired, rcall('ZCARD', KEYS[6])}
`;

/**
 * ARGV: 3.. dedupe ids. Deletes jobs acked with a dedupe window that has passed (and their
 * BullMQ deduplication key), so the key can be used again. Returns how many it deleted.
 */
const CLEAR_EXPIRED_DEDUPE = `${COMMON}
local n = 0
for i = 3, #ARGV do
  local dk = pre .. 'de:' .. ARGV[i]
  local id = rcall('GET', dk)
  if id then
    local jk = pre .. id
    local keep = tonumber(rcall('HGET', jk, 'tnyKeepUntil'))
    if keep and keep <= now then
      rcall('DEL', jk, jk .. ':logs', dk)
      rcall('ZREM', KEYS[7], id)
      n = n + 1
    end
  end
end
return n
`;

class Script {
  private readonly sha: string;
  constructor(private readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }
  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.includes('NOSCRIPT')) throw err;
      return await redis.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}

export const scripts = {
  lease: new Script(LEASE),
  extend: new Script(EXTEND),
  ack: new Script(ACK),
  nack: new Script(NACK),
  retryDead: new Script(RETRY_DEAD),
  stats: new Script(STATS),
  clearExpiredDedupe: new Script(CLEAR_EXPIRED_DEDUPE),
};

/** The keys the scripts take, in their order, for one BullMQ queue. */
export function queueKeys(prefix: string, name: string): string[] {
  const base = `${prefix}:${name}:`;
  return ['prioritized', 'delayed', 'active', 'tny:leases', 'failed', 'tny:dead', 'completed', 'pc'].map((k) => base + k);
}
