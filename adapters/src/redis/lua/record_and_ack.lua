-- Writes task records and acknowledges deliveries in one atomic step (broker and result
-- backend on one Redis): SET each record (with its TTL) and wake its waiters, then XACK + XDEL
-- (and the lease entry) of every delivery whose lease is still held.
-- KEYS: stream and lease zset of each delivery, in pairs; then record key and waker key of each
-- record, in pairs.
-- ARGV: group, deliveries count, then id, consumer, count per delivery; then ttl_ms, waker_ttl_ms;
-- then json, terminal ("1"/"0") per record. Returns how many deliveries were acknowledged.
local group = ARGV[1]
local nd = tonumber(ARGV[2])
local base = 3 + nd * 3
local ttl = tonumber(ARGV[base])
local waker_ttl = tonumber(ARGV[base + 1])
local r = 0
for k = 2 * nd + 1, #KEYS, 2 do
  local a = base + 2 + r * 2
  if ttl > 0 then
    redis.call('SET', KEYS[k], ARGV[a], 'PX', ttl)
  else
    redis.call('SET', KEYS[k], ARGV[a])
  end
  redis.call('DEL', KEYS[k + 1])
  if ARGV[a + 1] == '1' then
    redis.call('LPUSH', KEYS[k + 1], 1)
    redis.call('PEXPIRE', KEYS[k + 1], waker_ttl)
  end
  r = r + 1
end
local n = 0
for i = 1, nd do
  local key, leases = KEYS[2 * i - 1], KEYS[2 * i]
  local b = 3 + (i - 1) * 3
  local id = ARGV[b]
  if owned(key, group, id, ARGV[b + 1], ARGV[b + 2]) then
    redis.call('XACK', key, group, id)
    redis.call('XDEL', key, id)
    redis.call('ZREM', leases, id)
    n = n + 1
  end
end
return n
