-- Creates the consumer group ARGV[1] on every stream in KEYS (creating the stream too),
-- reading from the start; an existing group (BUSYGROUP) is fine.
for _, key in ipairs(KEYS) do
  local r = redis.pcall('XGROUP', 'CREATE', key, ARGV[1], '0', 'MKSTREAM')
  if type(r) == 'table' and r.err and not string.find(r.err, 'BUSYGROUP', 1, true) then
    return redis.error_reply(r.err)
  end
end
return 1
