-- The tasks of queue ?2 in namespace ?1 in one state at time ?3 (?4: 0 waiting, 1 delayed,
-- 2 leased), at most ?5, in the order they will move: waiting ones in fetch order, delayed ones
-- by due time, leased ones by lease expiry. The same states as task_counts.sql.
SELECT payload, visible_at, owner, deliveries, state FROM stem_tasks
WHERE ns = ?1 AND queue = ?2
  AND CASE ?4
        WHEN 0 THEN state = 0 OR (state = 1 AND visible_at <= ?3)
        WHEN 1 THEN state = 1 AND visible_at > ?3
        ELSE state = 2
      END
ORDER BY
  CASE WHEN ?4 = 0 THEN -priority ELSE visible_at END,
  CASE WHEN ?4 = 0 THEN fair_vt ELSE 0 END,
  id
LIMIT ?5
