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
local newest = nil
if n > 0 then newest = tonumber(redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2]) end
if cost <= limit and n + cost <= limit then
  if cost > 0 then
    -- A clock that stepped back records at the newest time, keeping scores in order.
    if newest == nil or newest < now then newest = now end
    local args = {}
    for i = 1, cost do
      args[#args + 1] = newest
      args[#args + 1] = nonce .. ':' .. i
      if #args >= 2000 then
        redis.call('ZADD', key, unpack(args))
        args = {}
      end
    end
    if #args > 0 then redis.call('ZADD', key, unpack(args)) end
    n = n + cost
    redis.call('PEXPIRE', key, math.max(1, math.ceil(newest + window - now - 0.001)))
  end
  local reset = 0
  if newest ~= nil then reset = math.max(0, math.ceil(newest + window - now - 0.001)) end
  return {1, limit - n, reset, 0}
end
local reset = 0
if newest ~= nil then reset = math.max(0, math.ceil(newest + window - now - 0.001)) end
if cost > limit then return {0, limit - n, reset, math.max(1, reset)} end
-- The request fits once the (n + cost - limit) oldest units have left the window.
local rank = n + cost - limit - 1
local oldest = tonumber(redis.call('ZRANGE', key, rank, rank, 'WITHSCORES')[2])
return {0, limit - n, reset, math.max(1, math.ceil(oldest + window - now - 0.001))}
`;
