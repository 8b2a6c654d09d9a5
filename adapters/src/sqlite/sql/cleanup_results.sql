DELETE FROM stem_results WHERE expires_at <= ?1
