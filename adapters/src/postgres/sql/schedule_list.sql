SELECT body, last_fire, next_fire, run_count, last_error, drift_ms FROM schedules ORDER BY id
