-- Which leases are still held, changing nothing (cluster mode checks them before writing
-- records in another slot). KEYS: stream and lease zset of each delivery, in pairs.
-- ARGV: group, then id, consumer, count per delivery.
-- Returns per delivery '+' (held) or '-' followed by the consumer holding the entry now.
local group = ARGV[1]
local out = {}
for i = 1, #KEYS / 2 do
  local key = KEYS[2 * i - 1]
  local b = 1 + (i - 1) * 3
  local id, consumer = ARGV[b + 1], ARGV[b + 2]
  if owned(key, group, id, consumer, ARGV[b + 3]) then
    out[#out + 1] = '+'
  else
    local p = redis.pcall('XPENDING', key, group, id, id, 1)
    if type(p) == 'table' and not p.err and #p > 0 then
      out[#out + 1] = '-' .. p[1][2]
    else
      out[#out + 1] = '-'
    end
  end
end
return out
