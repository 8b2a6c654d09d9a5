SELECT MIN(visible_at) FROM stem_tasks WHERE ns = ?1 AND queue = ?2 AND state = ?3
