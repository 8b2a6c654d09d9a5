UPDATE stem_schedules
SET last_fire = max(coalesce(last_fire, ?3), ?3), run_count = run_count + 1
WHERE ns = ?1 AND id = ?2
