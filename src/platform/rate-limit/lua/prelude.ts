/**
 * The start of every rate-limit script. KEYS[1] is the limited key; ARGV is limit, windowMs,
 * cost and one algorithm-specific argument. Time is the Redis server's (TIME, in ms with µs
 * precision), never the caller's, so api processes with skewed clocks agree.
 *
 * Every script returns {allowed (1|0), remaining, resetMs, retryAfterMs}, computed with the
 * same formulas as the in-process algorithm of the same name (src/platform/rate-limit/memory/).
 */
export const PRELUDE = `
if redis.replicate_commands then redis.replicate_commands() end
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local EPS = 1e-3
local function ceilms(ms)
  if ms <= EPS then return 0 end
  return math.ceil(ms - EPS)
end
local function refused(remaining, reset, retry)
  return {0, remaining, reset, math.max(1, retry)}
end
`;
