-- POST a link with a URL never sent before: prefix (first argument) + thread + counter.
package.path = debug.getinfo(1, 'S').source:match('^@(.*/)') .. '?.lua;' .. package.path
local report = require('report')

local prefix, path = 'x', '/api/v1/links'
local counter = 0

-- setup() runs in its own Lua state; it hands each thread its number as the global thread_no.
local threads_seen = 0
function setup(thread)
  threads_seen = threads_seen + 1
  thread:set('thread_no', threads_seen)
end

function init(args)
  prefix = args[1] or prefix
  path = args[2] or path
end

function request()
  counter = counter + 1
  local body = '{"url":"https://example.com/bench/' .. prefix .. '/' .. (thread_no or 1) .. '/' .. counter .. '?utm_source=bench"}'
  return wrk.format('POST', path, nil, body)
end

done = report.done
