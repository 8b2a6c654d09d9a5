-- Prelude of the scripts that write task records: stores `json` at `rkey` (with the record TTL
-- `ttl` ms, none when 0), indexes its id `rid` by `updated` in the zset `index`, and resets the
-- waker list `wkey`, pushing a wake-up token (kept `waker_ttl` ms) when the record is terminal.
local function put_record(rkey, wkey, index, json, rid, updated, terminal, ttl, waker_ttl)
  if ttl > 0 then
    redis.call('SET', rkey, json, 'PX', ttl)
  else
    redis.call('SET', rkey, json)
  end
  redis.call('ZADD', index, updated, rid)
  redis.call('DEL', wkey)
  if terminal == '1' then
    redis.call('LPUSH', wkey, 1)
    redis.call('PEXPIRE', wkey, waker_ttl)
  end
end
