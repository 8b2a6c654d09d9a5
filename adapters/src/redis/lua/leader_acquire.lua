-- Takes or keeps the beat lock. KEYS[1] the lock ("TOKEN|HOLDER", with a PX lease), KEYS[2]
-- the fencing-token counter. ARGV[1] holder, ARGV[2] lease ms. Returns the token, or nil when
-- another holder's lease runs. A new holder gets a token larger than every earlier one.
local current = redis.call('GET', KEYS[1])
if current then
  local sep = string.find(current, '|', 1, true)
  if string.sub(current, sep + 1) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(string.sub(current, 1, sep - 1))
  end
  return false
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token .. '|' .. ARGV[1], 'PX', ARGV[2])
return token
