UPDATE stem_schedules
SET last_fire = CASE WHEN ?3 IS NULL THEN last_fire ELSE max(coalesce(last_fire, ?3), ?3) END,
    next_fire = ?4,
    last_error = ?5,
    drift_ms = coalesce(?6, drift_ms)
WHERE ns = ?1 AND id = ?2
