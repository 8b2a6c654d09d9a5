-- Suspends a run claimed at a generation, registering its waiter unless the waiter's step is
-- already final. KEYS[1] the run's hash, KEYS[2] its journal. ARGV: prefix, run id,
-- generation, wake_at (optional), now, then for a waiter: topic, index, since, deadline
-- (optional). Returns 1 when suspended.
local key, journal, id, gen, wake, now = KEYS[1], KEYS[2], ARGV[2], ARGV[3], opt(ARGV[4]), ARGV[5]
if not live_claimed(id, gen) then return 0 end
if #ARGV >= 9 then
  local topic, index, since, deadline = ARGV[6], ARGV[7], ARGV[8], opt(ARGV[9])
  if not step_final(redis.call('HGET', journal, index .. ':state')) then
    add_waiter(topic, id, index, since, deadline or '')
  end
end
put(key, { 'suspended_at', now, 'wake_at', wake, 'updated_at', now })
set_state(id, 'suspended')
return 1
