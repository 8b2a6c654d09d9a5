-- Rewinds a run to a step: the steps from it on and the run's waiters are deleted, the run is
-- suspended again with no outcome, and its generation raised by one. KEYS[1] the run's hash,
-- KEYS[2] its journal. ARGV: prefix, run id, index, now. Returns the run's fields after, or {}
-- when there is no such run.
local key, journal, id, from, now = KEYS[1], KEYS[2], ARGV[2], tonumber(ARGV[3]), ARGV[4]
if redis.call('EXISTS', key) == 0 then return {} end
put(key, {
  'outcome', false, 'finished_at', false, 'wake_at', false,
  'suspended_at', now, 'updated_at', now,
})
redis.call('HINCRBY', key, 'generation', 1)
set_state(id, 'suspended')
for _, field in ipairs(redis.call('HKEYS', journal)) do
  local index = tonumber(string.match(field, '^(%d+):'))
  if index and index >= from then
    redis.call('HDEL', journal, field)
  end
end
drop_waiters(id, nil)
return redis.call('HGETALL', key)
