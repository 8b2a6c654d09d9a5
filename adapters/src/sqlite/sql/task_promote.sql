-- Due delayed tasks and lapsed leases become ready; clearing the token makes the old
-- lease's receipt stale.
UPDATE stem_tasks
SET state = 0, token = NULL, owner = NULL
WHERE ns = ?1 AND queue = ?2 AND state IN (1, 2) AND visible_at <= ?3
