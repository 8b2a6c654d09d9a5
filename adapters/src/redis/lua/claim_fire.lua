-- Claims one fire. KEYS[1] the fencing-token counter, KEYS[2] the claim key, KEYS[3] the
-- schedule's state hash, KEYS[4] the schedules hash. ARGV[1] token, ARGV[2] keep ms,
-- ARGV[3] fire time, ARGV[4] schedule id. 1 when claimed: the token is the latest issued and no
-- one claimed this fire before. A claim raises last_fire and counts a run.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 0
end
if redis.call('HEXISTS', KEYS[4], ARGV[4]) == 1 then
  local last = tonumber(redis.call('HGET', KEYS[3], 'last_fire'))
  if not last or tonumber(ARGV[3]) > last then
    redis.call('HSET', KEYS[3], 'last_fire', ARGV[3])
  end
  redis.call('HINCRBY', KEYS[3], 'run_count', 1)
end
return 1
