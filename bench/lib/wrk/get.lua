-- GET over a list of paths (one per line in the file given as the first script argument),
-- picked uniformly at random, or in order when the second argument is "sequential"
-- (starting after the line number given as the third argument).
-- Up to 200,000 requests are pre-formatted; longer lists are formatted per request.
package.path = debug.getinfo(1, 'S').source:match('^@(.*/)') .. '?.lua;' .. package.path
local report = require('report')

local paths, reqs = {}, nil
local n, i = 0, 0
local sequential = false

-- setup() runs in its own Lua state; it hands each thread its number as the global thread_no.
local threads_seen = 0
function setup(thread)
  threads_seen = threads_seen + 1
  thread:set('thread_no', threads_seen)
end

function init(args)
  sequential = args[2] == 'sequential'
  for line in io.lines(args[1]) do
    if line ~= '' then
      n = n + 1
      paths[n] = line
    end
  end
  if n <= 200000 then
    reqs = {}
    for k = 1, n do reqs[k] = wrk.format('GET', paths[k]) end
  end
  math.randomseed(os.time() * 1000 + (thread_no or 0) * 7919 + math.floor(os.clock() * 1e6))
  i = ((tonumber(args[3]) or 0) + ((thread_no or 1) - 1) * 9973) % n
end

function request()
  local k
  if sequential then
    i = i % n + 1
    k = i
  else
    k = math.random(n)
  end
  if reqs then return reqs[k] end
  return wrk.format('GET', paths[k])
end

done = report.done
