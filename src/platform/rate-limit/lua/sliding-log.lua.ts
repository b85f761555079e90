import { PRELUDE } from './prelude.js';

/**
 * Sliding log: a sorted set of admitted units scored by time. Members are the caller's unique
 * nonce (ARGV[4]: process id + counter) plus the unit's number, so two units admitted in the
 * same microsecond by different processes never collapse into one member.
 */
export const SLIDING_LOG_LUA = `${PRELUDE}
local nonce = ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local n = redis.call('ZCARD', key)
local function newestReset()
  if n == 0 then return 0 end
  local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  return ceilms(tonumber(newest[2]) + window - now)
end
if cost <= limit and n + cost <= limit then
  if cost > 0 then
    local at = now
    if n > 0 then
      local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
      at = math.max(now, tonumber(newest[2]))
    end
    local args = {}
    for i = 1, cost do
      args[#args + 1] = at
      args[#args + 1] = nonce .. ':' .. i
      if #args >= 2000 then
        redis.call('ZADD', key, unpack(args))
        args = {}
      end
    end
    if #args > 0 then redis.call('ZADD', key, unpack(args)) end
    n = n + cost
    redis.call('PEXPIRE', key, math.max(1, ceilms(at + window - now)))
  end
  return {1, limit - n, newestReset(), 0}
end
local reset = newestReset()
if cost > limit then return refused(limit - n, reset, reset) end
local oldest = redis.call('ZRANGE', key, n + cost - limit - 1, n + cost - limit - 1, 'WITHSCORES')
return refused(limit - n, reset, ceilms(tonumber(oldest[2]) + window - now))
`;
