-- A canvas group member failed for good: KEYS[1] the group hash. ARGV: index, size, ttl ms.
-- Returns 1 when ARGV[1] is the group's first failed member, else 0.
redis.call('HSETNX', KEYS[1], 'failed', ARGV[1])
redis.call('HSET', KEYS[1], 'size', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if redis.call('HGET', KEYS[1], 'failed') == ARGV[1] then return 1 end
return 0
