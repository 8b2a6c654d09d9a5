-- Ends a live run in a final state, deleting its waiters; fenced by a generation when one is
-- given. KEYS[1] the run's hash. ARGV: prefix, run id, generation (optional), state, outcome
-- (optional), now. Returns the run's fields as they were before, or {} when nothing ended.
local key, id, gen, state, outcome, now =
  KEYS[1], ARGV[2], opt(ARGV[3]), ARGV[4], opt(ARGV[5]), ARGV[6]
local got = redis.call('HMGET', key, 'state', 'generation')
if not got[1] or not live(got[1]) then return {} end
if gen and got[2] ~= gen then return {} end
local before = redis.call('HGETALL', key)
put(key, { 'outcome', outcome, 'finished_at', now, 'wake_at', false, 'updated_at', now })
set_state(id, state)
drop_waiters(id, nil)
return before
