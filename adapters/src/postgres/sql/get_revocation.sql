SELECT id, terminate, reason, revoked_at, expires_at FROM revocations
WHERE id = $1 AND expires_at > $2
