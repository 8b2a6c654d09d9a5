-- Deletes the finished records among the given ones. KEYS[1]: the record index; KEYS[2..]: the
-- record keys; ARGV: their task ids, in the same order. A record is finished when its state is
-- terminal; checked and deleted in this one script, so a worker's write is never lost.
local terminal = {success = true, failure = true, revoked = true, expired = true, skipped = true}
local deleted = {}
for i = 1, #ARGV do
  local body = redis.call('GET', KEYS[i + 1])
  if body then
    local ok, record = pcall(cjson.decode, body)
    if ok and type(record) == 'table' and terminal[record['state']] then
      redis.call('DEL', KEYS[i + 1])
      redis.call('ZREM', KEYS[1], ARGV[i])
      deleted[#deleted + 1] = ARGV[i]
    end
  end
end
return deleted
