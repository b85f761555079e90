import { PRELUDE } from './prelude.js';

/**
 * Token bucket: a hash {t: tokens, u: updated at}. The key expires when the bucket would be
 * full again, since a missing key reads as a full bucket.
 */
export const TOKEN_BUCKET_LUA = `${PRELUDE}
local perMs = limit / window
local v = redis.call('HMGET', key, 't', 'u')
local tokens = tonumber(v[1])
local at = tonumber(v[2])
if tokens == nil or at == nil then
  tokens = limit
  at = now
elseif now > at then
  tokens = math.min(limit, tokens + (now - at) * perMs)
  at = now
end
local function msUntil(target) return ceilms((target - tokens) / perMs) end
local function whole() return math.floor(tokens + 1e-9) end
if cost <= limit and tokens + 1e-9 >= cost then
  if cost > 0 then
    tokens = math.max(0, tokens - cost)
    redis.call('HSET', key, 't', tokens, 'u', at)
    redis.call('PEXPIRE', key, math.max(1, msUntil(limit)))
  end
  return {1, whole(), msUntil(limit), 0}
end
local reset = msUntil(limit)
if cost > limit then return refused(whole(), reset, reset) end
return refused(whole(), reset, msUntil(cost))
`;
