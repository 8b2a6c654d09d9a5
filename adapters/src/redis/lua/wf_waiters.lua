-- Waiters, oldest first, of one topic or all. KEYS[1] the topic's waiters or every waiter.
-- ARGV: prefix, topic (optional: none for all), limit. Returns {topic, run, index, since,
-- deadline} for the first `limit` by since and every other waiter with the same since as the
-- last of them, for the caller to order ties and cut.
local set, topic, limit = KEYS[1], opt(ARGV[2]), ARGV[3]
local got = redis.call('ZRANGE', set, '-inf', '+inf', 'BYSCORE', 'LIMIT', 0, limit, 'WITHSCORES')
local members = {}
local last = nil
for i = 1, #got, 2 do
  members[#members + 1] = got[i]
  last = got[i + 1]
end
if tostring(#members) == limit and last then
  for _, m in ipairs(redis.call('ZRANGE', set, last, last, 'BYSCORE')) do
    members[#members + 1] = m
  end
end
local out, seen = {}, {}
for _, m in ipairs(members) do
  if not seen[m] then
    seen[m] = true
    local t, run, index
    if not topic then
      local colon = string.find(m, ':', 1, true)
      local n = tonumber(string.sub(m, 1, colon - 1))
      run = string.sub(m, colon + 1, colon + n)
      local rest = string.sub(m, colon + n + 2)
      local bar = string.find(rest, '|', 1, true)
      index, t = string.sub(rest, 1, bar - 1), string.sub(rest, bar + 1)
    else
      local bar = string.find(m, '|[^|]*$')
      t, run, index = topic, string.sub(m, 1, bar - 1), string.sub(m, bar + 1)
    end
    local detail = redis.call('HGET', WAITER, waiter_id(t, run, index)) or '|'
    local sep = string.find(detail, '|', 1, true)
    out[#out + 1] = { t, run, index, string.sub(detail, 1, sep - 1), string.sub(detail, sep + 1) }
  end
end
return out
