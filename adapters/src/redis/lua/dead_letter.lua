-- Moves a delivery to its queue's dead letters, atomically. A lost lease changes nothing.
-- KEYS: source stream, its lease zset, dlq hash, dlq order zset, dlq sequence, queues set.
-- ARGV: group, id, consumer, count, letter id, letter JSON, queue.
if not owned(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4]) then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[5], ARGV[6])
redis.call('ZADD', KEYS[4], redis.call('INCR', KEYS[5]), ARGV[5])
redis.call('SADD', KEYS[6], ARGV[7])
return 1
