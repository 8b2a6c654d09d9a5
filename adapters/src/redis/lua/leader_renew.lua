-- Extends the beat lock if it is still "TOKEN|HOLDER" (ARGV[1]); ARGV[2] lease ms. 1 or 0.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
