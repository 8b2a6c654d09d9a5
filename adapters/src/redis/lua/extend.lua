-- Extends leases to server time + ARGV[2] ms, and re-claims each entry to the same consumer
-- with JUSTID (resets its idle time, counts no delivery).
-- KEYS: stream and lease zset of each delivery, in pairs.
-- ARGV: group, lease ms, then id, consumer, count per delivery.
-- Returns the 1-based indexes of deliveries whose lease was already lost.
local group, lease = ARGV[1], tonumber(ARGV[2])
local t = redis.call('TIME')
local until_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + lease
local lost = {}
for i = 1, #KEYS / 2 do
  local key, leases = KEYS[2 * i - 1], KEYS[2 * i]
  local b = 2 + (i - 1) * 3
  local id, consumer = ARGV[b + 1], ARGV[b + 2]
  if owned(key, group, id, consumer, ARGV[b + 3]) then
    redis.call('XCLAIM', key, group, consumer, 0, id, 'JUSTID')
    redis.call('ZADD', leases, until_ms, id)
  else
    lost[#lost + 1] = i
  end
end
return lost
