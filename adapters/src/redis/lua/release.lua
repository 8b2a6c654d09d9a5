-- Gives a delivery back: removes it (and its lease) and adds its replacement to a stream
-- (ready) or to the delayed zset, atomically. A lost lease changes nothing.
-- KEYS: source stream, its lease zset, target (stream or delayed zset), queues set.
-- ARGV: group, id, consumer, count, 'ready'|'delayed', payload, due ms, target queue.
if not owned(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4]) then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[2])
if ARGV[5] == 'delayed' then
  redis.call('ZADD', KEYS[3], ARGV[7], ARGV[6])
else
  redis.call('XADD', KEYS[3], '*', 'e', ARGV[6])
end
redis.call('SADD', KEYS[4], ARGV[8])
return 1
