-- Takes every waiter of a topic: each whose run is live and step not final has its step made
-- `done` with the event. KEYS[1] the topic's waiters. ARGV: prefix, topic, event, now.
-- Returns per run woken {run, workflow, queue, index, the run's seq} (the resume to publish
-- is seq + 1).
local topic_set, topic, event, now = KEYS[1], ARGV[2], ARGV[3], ARGV[4]
local members = redis.call('ZRANGE', topic_set, 0, -1)
local woken = {}
for _, m in ipairs(members) do
  local bar = string.find(m, '|[^|]*$')
  local run, index = string.sub(m, 1, bar - 1), string.sub(m, bar + 1)
  drop_waiter(topic, run, index)
  local got = redis.call('HMGET', run_key(run), 'state', 'workflow', 'queue', 'seq')
  local journal = steps_key(run)
  local step = redis.call('HGET', journal, index .. ':state')
  if got[1] and live(got[1]) and step and not step_final(step) then
    put(journal, {
      index .. ':state', 'done', index .. ':data', event,
      index .. ':updated_at', now, index .. ':finished_at', now,
    })
    woken[#woken + 1] = { run, got[2], got[3], index, got[4] }
  end
end
redis.call('DEL', topic_set)
return woken
