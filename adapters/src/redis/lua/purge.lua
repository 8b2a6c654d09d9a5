-- Deletes every dead letter of one queue; returns how many. KEYS: dlq hash, dlq order zset.
local n = redis.call('HLEN', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2])
return n
