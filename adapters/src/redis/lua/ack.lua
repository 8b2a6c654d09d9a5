-- Acknowledges a batch: XACK + XDEL (and the lease entry) of every entry whose lease is held.
-- KEYS: stream and lease zset of each delivery, in pairs.
-- ARGV: group, then id, consumer, count per delivery. Returns how many were acknowledged.
local group = ARGV[1]
local n = 0
for i = 1, #KEYS / 2 do
  local key, leases = KEYS[2 * i - 1], KEYS[2 * i]
  local b = 1 + (i - 1) * 3
  local id = ARGV[b + 1]
  if owned(key, group, id, ARGV[b + 2], ARGV[b + 3]) then
    redis.call('XACK', key, group, id)
    redis.call('XDEL', key, id)
    redis.call('ZREM', leases, id)
    n = n + 1
  end
end
return n
