SELECT body FROM stem_revocations
WHERE ns = ?1 AND revoked_at >= ?2 AND expires_at > ?3
ORDER BY revoked_at, id
