import { PRELUDE } from './prelude.js';

/** Fixed window: a hash {w: window index, c: count}, expiring at the window's end. */
export const FIXED_WINDOW_LUA = `${PRELUDE}
local v = redis.call('HMGET', key, 'w', 'c')
local w = math.floor(now / window)
local c = 0
local stored = tonumber(v[1])
if stored ~= nil and stored >= w then
  w = stored
  c = tonumber(v[2])
end
local untilEnd = math.max(0, math.ceil((w + 1) * window - now - 0.001))
if cost <= limit and c + cost <= limit then
  if cost > 0 then
    c = c + cost
    redis.call('HSET', key, 'w', string.format('%.0f', w), 'c', c)
    redis.call('PEXPIRE', key, math.max(1, untilEnd))
  end
  if c == 0 then untilEnd = 0 end
  return {1, limit - c, untilEnd, 0}
end
local reset = untilEnd
if c == 0 then reset = 0 end
if cost > limit then return {0, limit - c, reset, math.max(1, reset)} end
return {0, limit - c, reset, math.max(1, untilEnd)}
`;
