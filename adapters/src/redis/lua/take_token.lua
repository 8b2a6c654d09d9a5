-- Token bucket KEYS[1] (hash: tokens, at) refilled at ARGV[1] tokens/s up to ARGV[2], full when
-- new; takes one token. Returns 0 when taken, else the ms until one is there. Redis's clock.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local per_ms = tonumber(ARGV[1]) / 1000
local burst = math.max(1, tonumber(ARGV[2]))
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = burst
if state[1] then
  tokens = math.min(burst, tonumber(state[1]) + math.max(0, now - tonumber(state[2])) * per_ms)
end
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.max(1, math.ceil((1 - tokens) / per_ms))
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
-- A bucket left alone refills completely; forget it a minute after that.
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / per_ms) + 60000)
return wait
