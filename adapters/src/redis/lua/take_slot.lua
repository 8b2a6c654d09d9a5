-- Slots KEYS[1] (sorted set: holder -> lease end, ms): drops ended leases, then takes or renews
-- ARGV[2]'s slot until now + ARGV[3] ms if it holds one or fewer than ARGV[1] do. Returns 1 if
-- ARGV[2] holds a slot now. Redis's clock.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[2]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', KEYS[1], tonumber(last[2]) + 60000)
  return 1
end
return 0
