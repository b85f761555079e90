import { PRELUDE } from './prelude.js';

/**
 * Sliding counter with bound: a hash {sub-window index: count}; ARGV[4] is K, the sub-windows
 * per window. Sub-window j counts until (j + K + 1) · W/K. Fields older than the K + 1
 * counted sub-windows are deleted as they are met, and the key expires when its newest
 * sub-window stops counting, so a key holds at most K + 2 fields.
 */
export const SLIDING_COUNTER_LUA = `${PRELUDE}
local k = tonumber(ARGV[4])
local sub = window / k
local current = math.floor(now / sub)
local flat = redis.call('HGETALL', key)
for i = 1, #flat, 2 do
  local j = tonumber(flat[i])
  if j > current then current = j end
end
local counts = {}
local total = 0
local stale = {}
for i = 1, #flat, 2 do
  local j = tonumber(flat[i])
  if j < current - k then
    stale[#stale + 1] = flat[i]
  else
    local c = tonumber(flat[i + 1])
    counts[j] = c
    total = total + c
  end
end
if #stale > 0 then redis.call('HDEL', key, unpack(stale)) end
local allowed = cost <= limit and total + cost <= limit
if allowed and cost > 0 then
  redis.call('HINCRBY', key, string.format('%.0f', current), cost)
  counts[current] = (counts[current] or 0) + cost
  total = total + cost
  redis.call('PEXPIRE', key, math.max(1, math.ceil((current + k + 1) * sub - now - 0.001)))
end
local reset = 0
for j = current, current - k, -1 do
  if (counts[j] or 0) > 0 then
    reset = math.max(0, math.ceil((j + k + 1) * sub - now - 0.001))
    break
  end
end
if allowed then return {1, limit - total, reset, 0} end
if cost > limit then return {0, limit - total, reset, math.max(1, reset)} end
local left = total
for j = current - k, current do
  left = left - (counts[j] or 0)
  if left + cost <= limit then
    return {0, limit - total, reset, math.max(1, math.ceil((j + k + 1) * sub - now - 0.001))}
  end
end
return {0, limit - total, reset, math.max(1, reset)}
`;
