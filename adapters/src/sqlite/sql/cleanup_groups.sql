DELETE FROM stem_groups WHERE expires_at <= ?1
