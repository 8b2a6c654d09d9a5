-- Commits a batch of outcomes, each whole or not at all, fenced by its lease: a commit whose
-- entry is no longer pending for its consumer with its delivery count is stale and changes
-- nothing. A held one removes its entry (XACK, XDEL, lease), writes its record when asked,
-- applies its action and publishes its follow-ups. Redis runs a script alone, so the batch is
-- atomic as a whole too.
-- KEYS[1] the queues set, KEYS[2] the record index (in cluster mode, where one call covers one
-- queue and writes no records, the queue's outbox twice), then per commit, in order: stream, lease zset; record key and waker
-- key when it has a record; one target key per follow-up; for a release its target (stream or
-- delayed zset); for a dead letter the dlq hash, order zset and sequence.
-- ARGV: group, record ttl ms, waker ttl ms, number of commits, track queues ('1': add each
-- target's queue to the queues set; '0' in cluster mode), then per commit:
--   op ('ack'|'release'|'dead'), entry id, consumer, delivery count,
--   has record ('1'|'0') [, record json, terminal ('1'|'0'), task id, updated_at],
--   number of follow-ups [, per follow-up: mode ('ready'|'delayed'), payload, due, queue],
--   for a release: mode, payload, due, queue; for a dead letter: letter id, letter json, queue.
--   Mode 'outbox' (cluster mode) stores the payload in the target hash (the queue's outbox)
--   under the field given as due, for the caller to publish to another slot.
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

local function place(target, mode, payload, due, queue)
  if mode == 'outbox' then
    redis.call('HSET', target, due, payload)
    return
  elseif mode == 'delayed' then
    redis.call('ZADD', target, due, payload)
  else
    redis.call('XADD', target, '*', 'e', payload)
  end
  if track then redis.call('SADD', queues, queue) end
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
    follow[#follow + 1] = {key(), arg(), arg(), arg(), arg()}
  end
  local action = {}
  if op == 'release' then
    action = {key(), arg(), arg(), arg(), arg()}
  elseif op == 'dead' then
    action = {key(), key(), key(), arg(), arg(), arg()}
  end
  if not owned(stream, group, id, consumer, count) then
    out[#out + 1] = '-' .. holder(stream, id)
  else
    redis.call('XACK', stream, group, id)
    redis.call('XDEL', stream, id)
    redis.call('ZREM', leases, id)
    if rec then
      put_record(rkey, wkey, index, rec, rid, updated, terminal, ttl, waker_ttl)
      if updated > newest then newest = updated end
    end
    if op == 'release' then
      place(action[1], action[2], action[3], action[4], action[5])
    elseif op == 'dead' then
      redis.call('HSET', action[1], action[4], action[5])
      redis.call('ZADD', action[2], redis.call('INCR', action[3]), action[4])
      if track then redis.call('SADD', queues, action[6]) end
    end
    for _, f in ipairs(follow) do
      place(f[1], f[2], f[3], f[4], f[5])
    end
    out[#out + 1] = '+'
  end
end
if ttl > 0 and newest > 0 then
  redis.call('ZREMRANGEBYSCORE', index, '-inf', '(' .. (newest - ttl))
end
return out
