-- Removes dead letter ARGV[1] and publishes its envelope, atomically; 0 when there is none.
-- KEYS: dlq hash, dlq order zset, target (stream, delayed zset, or in cluster mode the queue's
-- outbox hash), and the queues set (left out in cluster mode).
-- ARGV: letter id, 'ready'|'delayed'|'outbox', payload, due ms (the outbox field for
-- 'outbox'), target queue.
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[2] == 'outbox' then
  redis.call('HSET', KEYS[3], ARGV[4], ARGV[3])
elseif ARGV[2] == 'delayed' then
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[3])
else
  redis.call('XADD', KEYS[3], '*', 'e', ARGV[3])
end
if KEYS[4] then redis.call('SADD', KEYS[4], ARGV[5]) end
return 1
