-- A page of runs, newest first (by created_at, then id). KEYS[1] the index set to read (all
-- runs, or those of a state, a workflow, or both). ARGV: prefix, the highest score ('+inf' or
-- '(' followed by `before`), limit. Returns each run's fields.
local ids = redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[2], '-inf', 'LIMIT', 0, ARGV[3])
local runs = {}
for _, id in ipairs(ids) do
  runs[#runs + 1] = redis.call('HGETALL', run_key(id))
end
return runs
