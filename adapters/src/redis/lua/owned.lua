-- Prelude of the scripts that act on a receipt: true when entry `id` of stream `key` is still
-- pending for `consumer` with delivery count `count`, i.e. the lease the receipt names is held.
local function owned(key, group, id, consumer, count)
  local p = redis.pcall('XPENDING', key, group, id, id, 1)
  if type(p) ~= 'table' or p.err or #p == 0 then
    return false
  end
  return p[1][2] == consumer and tonumber(p[1][4]) == tonumber(count)
end
