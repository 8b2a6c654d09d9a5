-- A resume claims its run. KEYS[1] the run's hash, KEYS[2] its journal. ARGV: prefix, id, seq,
-- resume id, generation, now.
-- Refused when the generation is not above the run's, or (unless seq is 0, a nudge) when seq
-- is below the run's or equal to it from another envelope. Returns {verdict, state, run, steps}:
-- 'unknown'; 'final' with the run's state; 'stale'; or 'claimed' with the state before and the
-- run's and journal's fields after.
local key, journal = KEYS[1], KEYS[2]
local id, seq, resume, gen, now = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local got = redis.call('HMGET', key, 'state', 'generation', 'seq', 'resume_id')
local state, run_gen, run_seq, run_resume = got[1], got[2], got[3], got[4]
if not state then return { 'unknown', '', {}, {} } end
if not live(state) then return { 'final', state, {}, {} } end
if not lt(run_gen, gen) then return { 'stale', '', {}, {} } end
if seq == '0' then
  redis.call('HINCRBY', key, 'seq', 1)
else
  if lt(seq, run_seq) or (seq == run_seq and run_resume ~= resume) then
    return { 'stale', '', {}, {} }
  end
  redis.call('HSET', key, 'seq', seq)
end
put(key, { 'resume_id', resume, 'generation', gen, 'wake_at', false, 'updated_at', now })
set_state(id, 'running')
return { 'claimed', state, redis.call('HGETALL', key), redis.call('HGETALL', journal) }
