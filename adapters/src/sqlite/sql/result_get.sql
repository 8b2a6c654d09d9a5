SELECT record FROM stem_results WHERE ns = ?1 AND id = ?2 AND expires_at > ?3
