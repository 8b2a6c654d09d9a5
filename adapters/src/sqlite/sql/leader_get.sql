SELECT holder, token, expires_at FROM stem_beat_leader
WHERE ns = ?1 AND expires_at > ?2 AND holder <> ''
