-- Writes records fenced by generation: a record replaces a stored one only when the stored
-- one's generation (the leading `"generation":N` of its JSON, 0 when absent) is no greater.
-- Wakes the record's waiters when it is terminal; a non-terminal write clears the wake token.
-- Indexes each written id by its updated_at, and drops index entries older than the ttl.
-- KEYS: the record index, then record key and waker key per record, in pairs.
-- ARGV: ttl ms, waker ttl ms, then json, terminal ('1'|'0'), generation, id, updated_at per record.
-- Returns per record 1 (written) or 0 (a newer record stands).
local ttl, waker_ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local index = KEYS[1]
local out = {}
local newest = 0
for i = 1, (#KEYS - 1) / 2 do
  local rkey, wkey = KEYS[2 * i], KEYS[2 * i + 1]
  local b = 3 + (i - 1) * 5
  local json, terminal, gen = ARGV[b], ARGV[b + 1], tonumber(ARGV[b + 2])
  local id, updated = ARGV[b + 3], tonumber(ARGV[b + 4])
  local old = redis.call('GET', rkey)
  local old_gen = 0
  if old then old_gen = tonumber(string.match(old, '^{"generation":(%d+)') or '0') end
  if old_gen > gen then
    out[#out + 1] = 0
  else
    put_record(rkey, wkey, index, json, id, updated, terminal, ttl, waker_ttl)
    if updated > newest then newest = updated end
    out[#out + 1] = 1
  end
end
if ttl > 0 and newest > 0 then
  redis.call('ZREMRANGEBYSCORE', index, '-inf', '(' .. (newest - ttl))
end
return out
