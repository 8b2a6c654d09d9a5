-- The tasks of queue $1 in one state now, on the server's clock ($2: 'waiting', 'delayed' or
-- 'leased'), at most $3, in the order they will move: waiting ones in fetch order, delayed ones
-- by due time, leased ones by lease expiry. The same states as counts.sql.
WITH clock AS (SELECT (extract(epoch FROM statement_timestamp()) * 1000)::bigint AS now)
SELECT payload, visible_at, lease_owner, deliveries FROM tasks, clock
WHERE queue = $1
  AND CASE $2::text
        WHEN 'waiting' THEN visible_at <= clock.now
        WHEN 'delayed' THEN visible_at > clock.now AND lease_token IS NULL
        ELSE visible_at > clock.now AND lease_token IS NOT NULL
      END
ORDER BY
  CASE WHEN $2::text = 'waiting' THEN -priority ELSE 0 END,
  CASE WHEN $2::text = 'waiting' THEN fair_vt ELSE 0 END,
  CASE WHEN $2::text = 'waiting' THEN eta ELSE visible_at END,
  id
LIMIT $3
