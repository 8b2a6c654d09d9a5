-- Removes dead letter ARGV[1] and publishes its envelope, atomically; 0 when there is none.
-- KEYS: dlq hash, dlq order zset, the queues set (in cluster mode, where the queues set is in
-- another slot, the dlq hash again), then the keys of the placement (see the `place` prelude:
-- a stream, the delayed zset, a fair zset with the fair keys, or in cluster mode the queue's
-- outbox hash).
-- ARGV: letter id, track ('1': add the target queue to the queues set), then the placement's
-- arguments (mode 'outbox' stores the payload under the field given as due).
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
local k, a = 4, 3
local p = read_place(function()
  k = k + 1
  return KEYS[k - 1]
end, function()
  a = a + 1
  return ARGV[a - 1]
end)
place(p)
if ARGV[2] == '1' and p.mode ~= 'outbox' then redis.call('SADD', KEYS[3], p.queue) end
return 1
