-- Writes records fenced by generation: a record replaces a stored one only when the stored
-- one's generation (the leading `"generation":N` of its JSON, 0 when absent) is no greater.
-- Wakes the record's waiters when it is terminal; a non-terminal write clears the wake token.
-- KEYS: record key and waker key per record, in pairs.
-- ARGV: ttl ms, waker ttl ms, then json, terminal ('1'|'0'), generation per record.
-- Returns per record 1 (written) or 0 (a newer record stands).
local ttl, waker_ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local out = {}
for i = 1, #KEYS / 2 do
  local rkey, wkey = KEYS[2 * i - 1], KEYS[2 * i]
  local b = 3 + (i - 1) * 3
  local json, terminal, gen = ARGV[b], ARGV[b + 1], tonumber(ARGV[b + 2])
  local old = redis.call('GET', rkey)
  local old_gen = 0
  if old then old_gen = tonumber(string.match(old, '^{"generation":(%d+)') or '0') end
  if old_gen > gen then
    out[#out + 1] = 0
  else
    if ttl > 0 then
      redis.call('SET', rkey, json, 'PX', ttl)
    else
      redis.call('SET', rkey, json)
    end
    redis.call('DEL', wkey)
    if terminal == '1' then
      redis.call('LPUSH', wkey, 1)
      redis.call('PEXPIRE', wkey, waker_ttl)
    end
    out[#out + 1] = 1
  end
end
return out
