-- Publishes a batch that holds tasks with a fair key (a batch without one is a MULTI pipeline
-- of XADD / ZADD instead), atomically. Each task is a placement of the `place` prelude.
-- KEYS[1] the queues set (in cluster mode, where the caller adds the queues itself and one call
-- covers one queue, any key of that queue), then the placements' keys.
-- ARGV: track queues ('1': add each task's queue to the queues set), number of tasks, then the
-- placements' arguments.
local queues, track, n = KEYS[1], ARGV[1] == '1', tonumber(ARGV[2])
local k, a = 2, 3

local function key()
  local v = KEYS[k]
  k = k + 1
  return v
end

local function arg()
  local v = ARGV[a]
  a = a + 1
  return v
end

for _ = 1, n do
  local p = read_place(key, arg)
  place(p)
  if track then redis.call('SADD', queues, p.queue) end
end
return n
