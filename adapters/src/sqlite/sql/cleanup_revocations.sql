DELETE FROM stem_revocations WHERE expires_at <= ?1
