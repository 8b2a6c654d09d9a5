-- One enqueue of a debounce key (adapters/src/debounce.rs). KEYS[1]: the key's open burst (a
-- string: its run id); KEYS[2]: the burst hash of ARGV[1]. ARGV: 1 id, 2 debounce key,
-- 3 payload, 4 window ms, 5 max_wait ms (0: none), 6 prefix of burst hashes (the open burst's
-- is this plus its id: one slot, the global tag), 7 ms a burst is kept. Returns {id, due, first}.
-- Redis's clock.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local keep = tonumber(ARGV[7])
local function due_of(first)
  local d = now + tonumber(ARGV[4])
  local cap = tonumber(ARGV[5])
  if cap > 0 and first + cap < d then d = first + cap end
  return d
end
local open = redis.call('GET', KEYS[1])
if open then
  local run = ARGV[6] .. open
  local fields = redis.call('HMGET', run, 'open', 'due', 'first_at', 'key')
  local due = tonumber(fields[2])
  if fields[1] == '1' and fields[4] == ARGV[2] and due and due > now then
    local d = due_of(tonumber(fields[3]) or now)
    redis.call('HSET', run, 'payload', ARGV[3], 'due', d)
    redis.call('PEXPIRE', run, keep)
    redis.call('PEXPIRE', KEYS[1], keep)
    return {open, d, 0}
  end
  if redis.call('EXISTS', run) == 1 then
    redis.call('HSET', run, 'open', '0')
  end
end
local d = due_of(now)
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], 'key', ARGV[2], 'payload', ARGV[3], 'due', d, 'first_at', now,
  'open', '1', 'taken_at', 0)
redis.call('PEXPIRE', KEYS[2], keep)
redis.call('SET', KEYS[1], ARGV[1], 'PX', keep)
return {ARGV[1], d, 1}
