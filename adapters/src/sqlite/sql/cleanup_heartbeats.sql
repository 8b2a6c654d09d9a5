DELETE FROM stem_heartbeats WHERE expires_at <= ?1
