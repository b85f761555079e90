/**
 * The start of every rate-limit script. KEYS[1] is the limited key; ARGV is limit, windowMs,
 * cost and one algorithm-specific argument. Time is the Redis server's (TIME, in ms with µs
 * precision), never the caller's, so api processes with skewed clocks agree. (Redis ≥ 5
 * replicates scripts by their effects, so writing after TIME is allowed.)
 *
 * Every script returns {allowed (1|0), remaining, resetMs, retryAfterMs}, computed with the
 * same formulas as the in-process algorithm of the same name (src/platform/rate-limit/memory/).
 * Spans are rounded up to whole ms with a 1 µs tolerance (EPSILON there):
 * max(0, ceil(x - 0.001)); a refusal's retry is at least 1 ms. The scripts define no local
 * functions: Lua would build those closures again on every call.
 */
export const PRELUDE = `
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = t[1] * 1000 + t[2] / 1000
`;
