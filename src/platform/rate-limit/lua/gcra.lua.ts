import { PRELUDE } from './prelude.js';

/** GCRA: one string, the theoretical arrival time (TAT), expiring when it is reached. */
export const GCRA_LUA = `${PRELUDE}
local interval = window / limit
local tat = tonumber(redis.call('GET', key)) or now
if tat < now then tat = now end
local pushed = tat + cost * interval
if cost <= limit and pushed - now <= window + 0.001 then
  local reset = math.max(0, math.ceil(pushed - now - 0.001))
  if cost > 0 then redis.call('SET', key, pushed, 'PX', math.max(1, reset)) end
  return {1, math.max(0, math.floor((window - (pushed - now)) / interval + 0.001)), reset, 0}
end
local reset = math.max(0, math.ceil(tat - now - 0.001))
local remaining = math.max(0, math.floor((window - (tat - now)) / interval + 0.001))
if cost > limit then return {0, remaining, reset, math.max(1, reset)} end
return {0, remaining, reset, math.max(1, math.ceil(pushed - window - now - 0.001))}
`;
