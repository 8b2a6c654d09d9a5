-- A canvas group member joins: KEYS[1] the group hash (`m:{index}` → result JSON, `size`,
-- `joined`, `completer`, `failed`). ARGV: index, size, result JSON, ttl ms.
-- A member joins once; the join that makes `joined` reach `size` becomes the completer.
-- Returns 1 when ARGV[1] is the completer, else 0.
local key, index, size = KEYS[1], ARGV[1], tonumber(ARGV[2])
if redis.call('HSETNX', key, 'm:' .. index, ARGV[3]) == 1 then
  redis.call('HINCRBY', key, 'joined', 1)
end
redis.call('HSET', key, 'size', size)
local completer = redis.call('HGET', key, 'completer')
if not completer and tonumber(redis.call('HGET', key, 'joined')) >= size then
  redis.call('HSET', key, 'completer', index)
  completer = index
end
redis.call('PEXPIRE', key, ARGV[4])
if completer == index then return 1 end
return 0
