-- The unexpired records of namespace ?1 at time ?2, newest first (ties: the larger id first): state
-- ?3, task name ?4, queue ?5, updated at or after ?6, and after the cursor (?8, ?9) when not NULL;
-- at most ?7.
SELECT id, record FROM stem_results
WHERE ns = ?1 AND expires_at > ?2
  AND (?3 IS NULL OR state = ?3)
  AND (?4 IS NULL OR json_extract(record, '$.name') = ?4)
  AND (?5 IS NULL OR json_extract(record, '$.queue') = ?5)
  AND (?6 IS NULL OR json_extract(record, '$.updated_at') >= ?6)
  AND (?8 IS NULL OR (json_extract(record, '$.updated_at'), id) < (?8, ?9))
ORDER BY json_extract(record, '$.updated_at') DESC, id DESC
LIMIT ?7
