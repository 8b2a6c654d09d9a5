INSERT OR IGNORE INTO stem_beat_claims (ns, schedule_id, fire_time, token, expires_at)
VALUES (?1, ?2, ?3, ?4, ?5)
