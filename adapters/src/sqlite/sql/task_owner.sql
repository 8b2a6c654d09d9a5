-- Who holds a task's lease now (for naming the newer owner of a stale commit).
SELECT owner FROM stem_tasks WHERE id = ?1 AND state = 2
