DELETE FROM stem_schedules WHERE ns = ?1 AND id = ?2
