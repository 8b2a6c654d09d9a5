-- Stores a run unless one with its id exists. KEYS[1] the run's hash. ARGV: prefix, id,
-- workflow, state, created_at, then the hash's fields as name, optional value pairs.
-- Returns {1, {}} when stored, {0, the stored run's fields} when it existed.
local key, id, workflow, state, created = KEYS[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if redis.call('EXISTS', key) == 1 then
  return { 0, redis.call('HGETALL', key) }
end
local fields = {}
for i = 6, #ARGV, 2 do
  fields[#fields + 1] = ARGV[i]
  fields[#fields + 1] = opt(ARGV[i + 1])
end
put(key, fields)
index_run(id, state, workflow, created)
return { 1, {} }
