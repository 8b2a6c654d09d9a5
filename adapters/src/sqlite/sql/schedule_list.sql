SELECT body, last_fire, next_fire, run_count, last_error, drift_ms
FROM stem_schedules WHERE ns = ?1 ORDER BY id
