SELECT body FROM stem_revocations WHERE ns = ?1 AND id = ?2 AND expires_at > ?3
