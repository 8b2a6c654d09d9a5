UPDATE stem_tasks SET visible_at = ?3 WHERE id = ?1 AND token = ?2
