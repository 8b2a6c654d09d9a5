-- Deletes the beat lock if it is still "TOKEN|HOLDER" (ARGV[1]); the token counter stays.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 0
