-- Forgets the burst ARGV[1] of debounce key ARGV[2]: KEYS[1] the key's open burst, KEYS[2]
-- the burst hash (adapters/src/debounce.rs).
if redis.call('HGET', KEYS[2], 'key') == ARGV[2] then
  redis.call('DEL', KEYS[2])
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 0
