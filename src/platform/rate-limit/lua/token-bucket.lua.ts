import { PRELUDE } from './prelude.js';

/**
 * Token bucket: a hash {t: tokens, u: updated at}. The key expires when the bucket would be
 * full again, since a missing key reads as a full bucket.
 */
export const TOKEN_BUCKET_LUA = `${PRELUDE}
local perMs = limit / window
local v = redis.call('HMGET', key, 't', 'u')
local tokens = tonumber(v[1])
if tokens == nil then
  tokens = limit
else
  -- A clock that stepped back adds nothing (and keeps u), so no time counts twice.
  local at = tonumber(v[2])
  if now > at then tokens = math.min(limit, tokens + (now - at) * perMs) else now = at end
end
if cost <= limit and tokens + 1e-9 >= cost then
  if cost > 0 then tokens = math.max(0, tokens - cost) end
  local reset = math.max(0, math.ceil((limit - tokens) / perMs - 0.001))
  if cost > 0 then
    redis.call('HSET', key, 't', tokens, 'u', now)
    redis.call('PEXPIRE', key, math.max(1, reset))
  end
  return {1, math.floor(tokens + 1e-9), reset, 0}
end
local reset = math.max(0, math.ceil((limit - tokens) / perMs - 0.001))
local remaining = math.floor(tokens + 1e-9)
if cost > limit then return {0, remaining, reset, math.max(1, reset)} end
return {0, remaining, reset, math.max(1, math.ceil((cost - tokens) / perMs - 0.001))}
`;
