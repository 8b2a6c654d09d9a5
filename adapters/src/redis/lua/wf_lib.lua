-- Prelude of the workflow scripts. ARGV[1] is the namespace's workflow key prefix
-- (`{ns}:wf:`); the keys a script only learns at run time (a run's topics, the index sets of a
-- state) are built from it here, as `keys.rs` builds them. Every key is in the prefix's slot.
-- Numbers that may be large (generations, sequences, times) stay decimal strings: compared by
-- `lt`, copied as given, raised with HINCRBY — never through a Lua double.
local P = ARGV[1]
local ALL_WAITERS, WAITER = P .. 'waiters', P .. 'waiter'

local function run_key(id) return P .. 'run:' .. id end
local function steps_key(id) return P .. 'steps:' .. id end
local function topic_key(topic) return P .. 'topic:' .. topic end
local function waits_key(id) return P .. 'waits:' .. id end

-- a < b for decimal strings without leading zeros (any length, so any u64).
local function lt(a, b)
  if #a ~= #b then return #a < #b end
  return a < b
end

local function live(state) return state == 'running' or state == 'suspended' end
local function step_final(state) return state == 'done' or state == 'failed' end

-- The listing index sets a run in `state` of `workflow` belongs to (besides `runs`).
local function index_keys(state, workflow)
  return { P .. 'runs:state:' .. state, P .. 'runs:wf-state:' .. state .. ':' .. workflow }
end

-- Adds run `id` (of `workflow`, created at `created`) to the index sets of `state`.
local function index_run(id, state, workflow, created)
  redis.call('ZADD', P .. 'runs', created, id)
  redis.call('ZADD', P .. 'runs:wf:' .. workflow, created, id)
  for _, k in ipairs(index_keys(state, workflow)) do
    redis.call('ZADD', k, created, id)
  end
end

-- Moves run `id` to `state` in its hash and its index sets.
local function set_state(id, state)
  local key = run_key(id)
  local got = redis.call('HMGET', key, 'state', 'workflow', 'created_at')
  local old, workflow, created = got[1], got[2], got[3]
  if old ~= state then
    for _, k in ipairs(index_keys(old, workflow)) do
      redis.call('ZREM', k, id)
    end
    for _, k in ipairs(index_keys(state, workflow)) do
      redis.call('ZADD', k, created, id)
    end
  end
  redis.call('HSET', key, 'state', state)
end

-- A waiter's id in the `waiters` set and the `waiter` hash: unambiguous whatever the strings.
local function waiter_id(topic, run, index)
  return #run .. ':' .. run .. '|' .. index .. '|' .. topic
end

local function add_waiter(topic, run, index, since, deadline)
  local w = waiter_id(topic, run, index)
  redis.call('ZADD', topic_key(topic), since, run .. '|' .. index)
  redis.call('ZADD', ALL_WAITERS, since, w)
  redis.call('HSET', WAITER, w, since .. '|' .. deadline)
  redis.call('SADD', waits_key(run), index .. '|' .. topic)
end

-- Deletes the waiter of run `run` at step `index` on `topic`.
local function drop_waiter(topic, run, index)
  local w = waiter_id(topic, run, index)
  redis.call('ZREM', topic_key(topic), run .. '|' .. index)
  redis.call('ZREM', ALL_WAITERS, w)
  redis.call('HDEL', WAITER, w)
  redis.call('SREM', waits_key(run), index .. '|' .. topic)
end

-- Deletes the waiters of run `run` at step `index` (on every topic), or all its waiters when
-- `index` is nil.
local function drop_waiters(run, index)
  for _, m in ipairs(redis.call('SMEMBERS', waits_key(run))) do
    local bar = string.find(m, '|', 1, true)
    local i = string.sub(m, 1, bar - 1)
    if index == nil or i == index then
      drop_waiter(string.sub(m, bar + 1), run, i)
    end
  end
end

-- Whether run `id` is live and claimed at generation `gen`.
local function live_claimed(id, gen)
  local got = redis.call('HMGET', run_key(id), 'state', 'generation')
  return got[1] and live(got[1]) and got[2] == gen
end

-- Sets the fields of hash `key` given as name, value pairs; a value of false deletes the field.
local function put(key, fields)
  for i = 1, #fields, 2 do
    if fields[i + 1] == false then
      redis.call('HDEL', key, fields[i])
    else
      redis.call('HSET', key, fields[i], fields[i + 1])
    end
  end
end

-- An optional argument: '-' is none (false), '+' followed by the value is the value.
local function opt(arg)
  if arg == '-' then return false end
  return string.sub(arg, 2)
end
