-- Leases up to ARGV[3] tasks for consumer ARGV[2] of group ARGV[1] in one atomic step.
-- KEYS: per queue, its delayed zset, its fair-state hash, its wake stream, then for each band
--   (highest first) its stream, the stream's lease zset (entry id scored by lease expiry, Redis
--   server time in ms) and the band's fair zset (keyed tasks scored by vt).
-- ARGV: group, consumer, max, lease ms, reread own pending (1/0), sweep orphans (1/0), number
--   of queues. Etas and leases are both judged on the server's clock, never the worker's.
-- Steps:
-- 1. due delayed tasks move to their band stream, or keyed ones ("{band}#{vt}#{member}") to
--    their band's fair zset scored by their vt (ZREM in the same script: exactly once);
-- 2. per band, highest first, per queue in the order given:
--    a. at a consumer's first fetch, its own pending entries (XREADGROUP id 0);
--    b. entries whose lease expired, claimed with XCLAIM (which counts a delivery);
--    c. when sweeping, pending entries with no lease (their fetch died between read and
--       record, which this script makes impossible, or they predate the lease sets) idle
--       longer than the lease;
--    d. new entries (XREADGROUP >);
--    e. keyed tasks, lowest vt first (ZPOPMIN), appended to the stream (field `e` the envelope,
--       `v` the vt) and read at once like d; the queue's clock rises to the largest vt taken and
--       a few key states at or below it are pruned (HSCAN from a cursor kept in the hash).
--    Every entry taken gets a lease until server time + lease.
-- Returns {ms until the next delayed task is due or -1, ms until the next lease expires or -1,
--   {{queue index, band, id, deliveries, fields}}, {per queue the last delivered id per
--   stream, then the last id of its wake stream} when nothing was taken (for the caller's blocking
--   XREAD that waits for new entries), the generation of the leases taken (server time in µs:
--   later than every earlier lease's)}.
local group, consumer = ARGV[1], ARGV[2]
local remaining = tonumber(ARGV[3])
local lease = tonumber(ARGV[4])
local reread, sweep = ARGV[5] == '1', ARGV[6] == '1'
local nq = tonumber(ARGV[7])
local BANDS, PER_QUEUE = 10, 33
local FAIR_MAX = 9007199254740992
local t = redis.call('TIME')
local server_now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local generation = tonumber(t[1]) * 1000000 + tonumber(t[2])
local out = {}

local function delayed_key(q) return KEYS[(q - 1) * PER_QUEUE + 1] end
local function state_key(q) return KEYS[(q - 1) * PER_QUEUE + 2] end
local function wake_key(q) return KEYS[(q - 1) * PER_QUEUE + 3] end
-- slot 1 is band 9, slot 10 is band 0
local function stream_key(q, slot) return KEYS[(q - 1) * PER_QUEUE + 3 * slot + 1] end
local function lease_key(q, slot) return KEYS[(q - 1) * PER_QUEUE + 3 * slot + 2] end
local function fair_key(q, slot) return KEYS[(q - 1) * PER_QUEUE + 3 * slot + 3] end

for q = 1, nq do
  local dkey = delayed_key(q)
  local due = redis.call('ZRANGEBYSCORE', dkey, '-inf', server_now, 'LIMIT', 0, 1000)
  for _, m in ipairs(due) do
    -- a member no publish wrote goes to band 0 as it is, to be delivered as malformed
    local band = tonumber(string.sub(m, 1, 1)) or 0
    local vt, member = string.match(m, '^%d#(%d+)#(.*)$')
    vt = tonumber(vt)
    if vt and vt < FAIR_MAX then
      redis.call('ZADD', fair_key(q, BANDS - band), vt, member)
    else
      redis.call('XADD', stream_key(q, BANDS - band), '*', 'e', string.sub(m, 3))
    end
    redis.call('ZREM', dkey, m)
  end
end

local function deliveries(key, id)
  local p = redis.call('XPENDING', key, group, id, id, 1)
  if #p == 0 then return 1 end
  return p[1][4]
end

local function take(q, slot, entries, fresh)
  local key, leases = stream_key(q, slot), lease_key(q, slot)
  for _, e in ipairs(entries) do
    local fields = e[2]
    if not fields then
      -- deleted while pending: nothing to deliver, drop it
      redis.call('XACK', key, group, e[1])
      redis.call('ZREM', leases, e[1])
    elseif remaining > 0 then
      local n = 1
      if not fresh then n = deliveries(key, e[1]) end
      redis.call('ZADD', leases, server_now + lease, e[1])
      out[#out + 1] = {q, BANDS - slot, e[1], n, fields}
      remaining = remaining - 1
    end
  end
end

-- Claims `ids` for this consumer; ids no longer pending lose their lease entry.
local function claim(q, slot, ids)
  if #ids == 0 then return end
  local key = stream_key(q, slot)
  local claimed = redis.call('XCLAIM', key, group, consumer, 0, unpack(ids))
  local got = {}
  for _, e in ipairs(claimed) do got[e[1]] = true end
  for _, id in ipairs(ids) do
    if not got[id] then redis.call('ZREM', lease_key(q, slot), id) end
  end
  take(q, slot, claimed, false)
end

-- Prunes up to a page of key states at or below `clock` (they no longer change a vt).
local function prune(state, clock)
  local r = redis.pcall('HSCAN', state, redis.call('HGET', state, 'scan') or '0', 'COUNT', 50)
  if type(r) ~= 'table' or r.err then
    -- a cursor no fetch wrote: start over
    r = redis.call('HSCAN', state, '0', 'COUNT', 50)
  end
  local fields = r[2]
  for i = 1, #fields - 1, 2 do
    if string.sub(fields[i], 1, 2) == 'k:' then
      local vt = tonumber(fields[i + 1])
      if not vt or vt <= clock then redis.call('HDEL', state, fields[i]) end
    end
  end
  redis.call('HSET', state, 'scan', r[1])
end

-- Step e: up to `remaining` keyed tasks of band `slot` of queue `q`, lowest vt first.
local function take_fair(q, slot)
  local popped = redis.call('ZPOPMIN', fair_key(q, slot), remaining)
  if #popped == 0 then return end
  local key, state, top = stream_key(q, slot), state_key(q), 0
  for i = 1, #popped - 1, 2 do
    local m, vt = popped[i], tonumber(popped[i + 1])
    local bar = string.find(m, '|', 1, true)
    if bar then m = string.sub(m, bar + 1) end
    redis.call('XADD', key, '*', 'e', m, 'v', popped[i + 1])
    if vt and vt == vt and vt < FAIR_MAX and vt > top then top = vt end
  end
  local r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', remaining,
    'STREAMS', key, '>')
  if r then take(q, slot, r[1][2], true) end
  local clock = tonumber(redis.call('HGET', state, 'clock'))
  if not clock or clock ~= clock or clock >= FAIR_MAX then clock = 0 end
  if top > clock then
    clock = top
    redis.call('HSET', state, 'clock', string.format('%.0f', clock))
  end
  prune(state, clock)
end

for slot = 1, BANDS do
  for q = 1, nq do
    if remaining <= 0 then break end
    local key, leases = stream_key(q, slot), lease_key(q, slot)
    -- A band with no entries (acked entries are deleted) and no leases has nothing to give:
    -- two O(1) checks instead of its reads, as most of the ten bands are empty (not on a
    -- consumer's first fetch or a sweep, which look for pending entries whose stream entry
    -- may be gone).
    local skip = not reread and not sweep
      and redis.call('XLEN', key) == 0 and redis.call('ZCARD', leases) == 0
    if not skip then
      if reread then
        local r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', remaining,
          'STREAMS', key, '0')
        if r then take(q, slot, r[1][2], false) end
      end
      if remaining > 0 then
        claim(q, slot, redis.call('ZRANGEBYSCORE', leases, '-inf', server_now,
          'LIMIT', 0, remaining))
      end
      if sweep and remaining > 0 then
        local orphans = {}
        for _, p in ipairs(redis.call('XPENDING', key, group, 'IDLE', lease, '-', '+', 100)) do
          if #orphans < remaining and not redis.call('ZSCORE', leases, p[1]) then
            orphans[#orphans + 1] = p[1]
          end
        end
        claim(q, slot, orphans)
      end
      if remaining > 0 then
        local r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', remaining,
          'STREAMS', key, '>')
        if r then take(q, slot, r[1][2], true) end
      end
    end
    if remaining > 0 then take_fair(q, slot) end
  end
end

local function soonest(keys_of, base)
  local best = -1
  for q = 1, nq do
    for _, key in ipairs(keys_of(q)) do
      local d = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
      if #d > 0 then
        local s = tonumber(d[2]) - base
        if s < 0 then s = 0 end
        if best < 0 or s < best then best = s end
      end
    end
  end
  return best
end

local next_due = soonest(function(q) return {delayed_key(q)} end, server_now)
local next_expiry = soonest(function(q)
  local ks = {}
  for slot = 1, BANDS do ks[#ks + 1] = lease_key(q, slot) end
  return ks
end, server_now)

local last_ids = {}
if #out == 0 then
  for q = 1, nq do
    for slot = 1, BANDS do
      local last = '0-0'
      for _, g in ipairs(redis.call('XINFO', 'GROUPS', stream_key(q, slot))) do
        local info = {}
        for i = 1, #g, 2 do info[g[i]] = g[i + 1] end
        if info['name'] == group then last = info['last-delivered-id'] end
      end
      last_ids[#last_ids + 1] = last
    end
    local w = redis.call('XREVRANGE', wake_key(q), '+', '-', 'COUNT', 1)
    last_ids[#last_ids + 1] = (w[1] and w[1][1]) or '0-0'
  end
end
return {next_due, next_expiry, out, last_ids, generation}
