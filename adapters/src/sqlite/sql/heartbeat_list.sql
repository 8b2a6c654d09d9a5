SELECT body FROM stem_heartbeats WHERE ns = ?1 AND expires_at > ?2 ORDER BY worker
