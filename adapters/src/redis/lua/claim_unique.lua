-- Takes the unique lock KEYS[1] for ARGV[1] (holder) for ARGV[2] ms, also over the stale holder
-- ARGV[3] (empty: none) the caller found finished; returns the other live holder, or false when
-- taken (or renewed by its own holder).
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] and (ARGV[3] == '' or current ~= ARGV[3]) then
  return current
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
