-- Sizes of one queue. KEYS: its 10 band streams, delayed zset, dlq hash, its 10 band fair
-- zsets. ARGV: group.
-- Acknowledged entries are deleted, so a stream holds exactly the ready and the leased tasks;
-- keyed tasks wait in the fair zsets (ready) and the delayed zset until a fetch takes them.
local ready, leased = 0, 0
for i = 1, 10 do
  local len = redis.call('XLEN', KEYS[i])
  local p = redis.pcall('XPENDING', KEYS[i], ARGV[1])
  local pending = 0
  if type(p) == 'table' and not p.err then pending = tonumber(p[1]) end
  ready = ready + len - pending + redis.call('ZCARD', KEYS[12 + i])
  leased = leased + pending
end
return {ready, redis.call('ZCARD', KEYS[11]), leased, redis.call('HLEN', KEYS[12])}
