-- Commits a batch of outcomes, each whole or not at all, fenced by its lease: a commit whose
-- entry is no longer pending for its consumer with its delivery count is stale and changes
-- nothing. A held one removes its entry (XACK, XDEL, lease), writes its record when asked,
-- applies its action and publishes its follow-ups. Redis runs a script alone, so the batch is
-- atomic as a whole too.
-- KEYS[1] the queues set, KEYS[2] the record index (in cluster mode, where one call covers one
-- queue and writes no records, the queue's outbox twice), then per commit, in order: stream, lease zset; record key and waker
-- key when it has a record; the keys of each follow-up's placement (see the `place` prelude); for
-- a release its placement's keys; for a dead letter the dlq hash, order zset and sequence.
-- ARGV: group, record ttl ms, waker ttl ms, number of commits, track queues ('1': add each
-- target's queue to the queues set; '0' in cluster mode), then per commit:
--   op ('ack'|'release'|'dead'), entry id, consumer, delivery count,
--   has record ('1'|'0') [, record json, terminal ('1'|'0'), task id, updated_at],
--   number of follow-ups [, per follow-up its placement's arguments: mode, payload, due, queue
--   (+ the fair ones)], for a release its placement's arguments; for a dead letter: letter id,
--   letter json, queue. Mode 'outbox' (cluster mode) stores the payload in the target hash (the
--   queue's outbox) under the field given as due, for the caller to publish to another slot.
--   A keyed release marked keep reuses the vt of the entry it replaces (field `v`, set when the
--   fetch took it from the fair zset), so a retried or given-back task keeps its turn.
-- Returns per commit '+' (applied) or '-' followed by the consumer now holding the entry.
local group = ARGV[1]
local ttl, waker_ttl = tonumber(ARGV[2]), tonumber(ARGV[3])
local n = tonumber(ARGV[4])
local track = ARGV[5] == '1'
local queues, index = KEYS[1], KEYS[2]
local k, a = 3, 6
local newest = 0
local out = {}

local function arg()
  local v = ARGV[a]
  a = a + 1
  return v
end

local function key()
  local v = KEYS[k]
  k = k + 1
  return v
end

local function publish(p, vt)
  place(p, vt)
  if track and p.mode ~= 'outbox' then redis.call('SADD', queues, p.queue) end
end

-- The vt the fetch gave entry `id` (its field `v`), or nil.
local function kept_vt(stream, id)
  local e = redis.call('XRANGE', stream, id, id)
  if #e == 0 then return nil end
  local fields = e[1][2]
  for i = 1, #fields - 1, 2 do
    if fields[i] == 'v' then
      local vt = fair_num(fields[i + 1])
      if vt > 0 then return vt end
    end
  end
  return nil
end

local function holder(stream, id)
  local p = redis.pcall('XPENDING', stream, group, id, id, 1)
  if type(p) == 'table' and not p.err and #p > 0 then return p[1][2] end
  return ''
end

for _ = 1, n do
  local op, id, consumer, count = arg(), arg(), arg(), arg()
  local stream, leases = key(), key()
  local rec, rkey, wkey, terminal, rid, updated
  if arg() == '1' then
    rec, terminal, rid, updated = arg(), arg(), arg(), tonumber(arg())
    rkey, wkey = key(), key()
  end
  local follow = {}
  for _ = 1, tonumber(arg()) do
    follow[#follow + 1] = read_place(key, arg)
  end
  local action = {}
  if op == 'release' then
    action = read_place(key, arg)
  elseif op == 'dead' then
    action = {key(), key(), key(), arg(), arg(), arg()}
  end
  if not owned(stream, group, id, consumer, count) then
    out[#out + 1] = '-' .. holder(stream, id)
  else
    local vt
    if op == 'release' and action.keep then vt = kept_vt(stream, id) end
    redis.call('XACK', stream, group, id)
    redis.call('XDEL', stream, id)
    redis.call('ZREM', leases, id)
    if rec then
      put_record(rkey, wkey, index, rec, rid, updated, terminal, ttl, waker_ttl)
      if updated > newest then newest = updated end
    end
    if op == 'release' then
      publish(action, vt)
    elseif op == 'dead' then
      redis.call('HSET', action[1], action[4], action[5])
      redis.call('ZADD', action[2], redis.call('INCR', action[3]), action[4])
      if track then redis.call('SADD', queues, action[6]) end
    end
    for _, f in ipairs(follow) do
      publish(f)
    end
    out[#out + 1] = '+'
  end
end
if ttl > 0 and newest > 0 then
  redis.call('ZREMRANGEBYSCORE', index, '-inf', '(' .. (newest - ttl))
end
return out
