-- Writes a step of a run claimed at a generation, unless the stored step is final; a final
-- step also drops the step's waiters. KEYS[1] the run's hash, KEYS[2] its journal. ARGV:
-- prefix, run id, generation, index, then the step's fields as name, optional value pairs
-- (stored as `{index}:{name}`). Returns 1 when written.
local journal, id, gen, index = KEYS[2], ARGV[2], ARGV[3], ARGV[4]
if not live_claimed(id, gen) then return 0 end
if step_final(redis.call('HGET', journal, index .. ':state')) then return 0 end
local fields, state = {}, nil
for i = 5, #ARGV, 2 do
  local value = opt(ARGV[i + 1])
  fields[#fields + 1] = index .. ':' .. ARGV[i]
  fields[#fields + 1] = value
  if ARGV[i] == 'state' then state = value end
end
put(journal, fields)
if step_final(state) then drop_waiters(id, index) end
return 1
