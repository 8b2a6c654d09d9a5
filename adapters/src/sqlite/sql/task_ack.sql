DELETE FROM stem_tasks WHERE id = ?1 AND token = ?2
