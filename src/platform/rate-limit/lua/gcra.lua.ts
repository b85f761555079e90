import { PRELUDE } from './prelude.js';

/** GCRA: one string, the theoretical arrival time, expiring when it is reached. */
export const GCRA_LUA = `${PRELUDE}
local interval = window / limit
local tat = tonumber(redis.call('GET', key)) or now
if tat < now then tat = now end
local function remaining(at) return math.max(0, math.floor((window - (at - now)) / interval + EPS)) end
local pushed = tat + cost * interval
if cost <= limit and pushed - now <= window + EPS then
  if cost > 0 then redis.call('SET', key, pushed, 'PX', math.max(1, ceilms(pushed - now))) end
  return {1, remaining(pushed), ceilms(pushed - now), 0}
end
local reset = ceilms(tat - now)
if cost > limit then return refused(remaining(tat), reset, reset) end
return refused(remaining(tat), reset, ceilms(pushed - window - now))
`;
