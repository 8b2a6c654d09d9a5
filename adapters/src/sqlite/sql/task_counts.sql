SELECT
    COALESCE(SUM(state = 0 OR (state = 1 AND visible_at <= ?3)), 0),
    COALESCE(SUM(state = 1 AND visible_at > ?3), 0),
    COALESCE(SUM(state = 2), 0)
FROM stem_tasks
WHERE ns = ?1 AND queue = ?2
