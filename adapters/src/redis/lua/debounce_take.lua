-- A worker asks for the burst ARGV[1] of debounce key ARGV[2] (adapters/src/debounce.rs).
-- KEYS[1]: the key's open burst; KEYS[2]: the burst hash. ARGV[3]: ms a taken burst is kept.
-- Returns {'gone', ''}, {'wait', due} or {'take', payload}. Redis's clock.
local fields = redis.call('HMGET', KEYS[2], 'key', 'open', 'due', 'taken_at', 'payload')
if fields[1] ~= ARGV[2] or not fields[5] then
  return {'gone', ''}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = tonumber(fields[3]) or 0
if fields[2] == '1' and due > now then
  return {'wait', tostring(due)}
end
if fields[2] == '1' or (tonumber(fields[4]) or 0) == 0 then
  redis.call('HSET', KEYS[2], 'open', '0', 'taken_at', now)
  redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[3]))
  if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('DEL', KEYS[1])
  end
end
return {'take', fields[5]}
