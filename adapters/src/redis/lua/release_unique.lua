-- Deletes the unique lock KEYS[1] if ARGV[1] holds it; returns 1 if it did.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
