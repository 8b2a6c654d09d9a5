INSERT OR REPLACE INTO stem_revocations (ns, id, revoked_at, expires_at, body)
VALUES (?1, ?2, ?3, ?4, ?5)
