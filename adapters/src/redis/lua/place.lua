-- Prelude of the scripts that publish (publish, commit, replay): one task's placement.
-- `read_place(key, arg)` reads one from the script's key and argument cursors: a target key,
-- then mode, payload, due, queue; the fair modes ('fair': ready, with a fair key;
-- 'fair_delayed') add two keys, the queue's fair-state hash and wake stream, and four arguments:
-- the fair key, its step (1000000 / weight), the band digit, keep ('1': a release that keeps the
-- vt of the entry it replaces, when that entry has one).
-- `place(p, vt)` writes it: 'ready' XADDs the envelope to the band stream, 'delayed' ZADDs
-- "{band}|{envelope}" to the delayed set, 'outbox' HSETs the item under the field given as due
-- (cluster mode). The fair modes assign the task's virtual start, unless `vt` is given:
--   vt = max(last_vt of the key, the queue's clock) + step, and last_vt = vt
-- then 'fair' ZADDs "{seq}|{envelope}" (seq: the queue's publish counter, 16 digits, so equal
-- vts go oldest first) scored by vt to the band's fair zset and XADDs a marker to the wake
-- stream (which a blocked fetch also waits on); 'fair_delayed' ZADDs
-- "{band}#{vt}#{seq}|{envelope}" to the delayed set, which the fetch moves to the fair zset
-- with its vt when due.
local FAIR_MAX = 9007199254740992

-- A stored number, or 0 when it is not one a hostile writer could have left instead.
local function fair_num(v)
  local n = tonumber(v)
  if not n or n ~= n or n < 0 or n >= FAIR_MAX then return 0 end
  return n
end

local function read_place(key, arg)
  local p = {target = key(), mode = arg(), payload = arg(), due = arg(), queue = arg()}
  if p.mode == 'fair' or p.mode == 'fair_delayed' then
    p.state, p.wake = key(), key()
    p.fkey, p.step, p.band, p.keep = arg(), fair_num(arg()), arg(), arg() == '1'
  end
  return p
end

local function place(p, vt)
  if p.mode == 'outbox' then
    redis.call('HSET', p.target, p.due, p.payload)
  elseif p.mode == 'delayed' then
    redis.call('ZADD', p.target, p.due, p.payload)
  elseif p.mode == 'ready' then
    redis.call('XADD', p.target, '*', 'e', p.payload)
  else
    if not vt then
      local field = 'k:' .. p.fkey
      local clock = fair_num(redis.call('HGET', p.state, 'clock'))
      local last = fair_num(redis.call('HGET', p.state, field))
      vt = math.max(clock, last) + p.step
      redis.call('HSET', p.state, field, string.format('%.0f', vt))
    end
    local seq = redis.call('HINCRBY', p.state, 'seq', 1)
    local member = string.format('%016d', seq) .. '|' .. p.payload
    if p.mode == 'fair' then
      redis.call('ZADD', p.target, vt, member)
      redis.call('XADD', p.wake, 'MAXLEN', 1, '*', 'w', '1')
    else
      redis.call('ZADD', p.target, p.due,
        p.band .. '#' .. string.format('%.0f', vt) .. '#' .. member)
    end
  end
end
