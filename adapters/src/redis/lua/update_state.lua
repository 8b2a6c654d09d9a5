-- A fenced state update. KEYS[1] the fencing-token counter, KEYS[2] the schedule's state hash,
-- KEYS[3] the schedules hash. ARGV[1] token, ARGV[2] schedule id, ARGV[3] skipped_to or "",
-- ARGV[4] next_fire or "" (cleared), ARGV[5] "1" with ARGV[6] the last error ("0": cleared),
-- ARGV[7] drift ms or "" (kept). 1 when applied.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if redis.call('HEXISTS', KEYS[3], ARGV[2]) == 0 then
  return 0
end
if ARGV[3] ~= '' then
  local last = tonumber(redis.call('HGET', KEYS[2], 'last_fire'))
  if not last or tonumber(ARGV[3]) > last then
    redis.call('HSET', KEYS[2], 'last_fire', ARGV[3])
  end
end
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[2], 'next_fire', ARGV[4])
else
  redis.call('HDEL', KEYS[2], 'next_fire')
end
if ARGV[5] == '1' then
  redis.call('HSET', KEYS[2], 'last_error', ARGV[6])
else
  redis.call('HDEL', KEYS[2], 'last_error')
end
if ARGV[7] ~= '' then
  redis.call('HSET', KEYS[2], 'drift_ms', ARGV[7])
end
return 1
