-- Unexpired (at $2) revocations made at or after $1, oldest first.
SELECT id, terminate, reason, revoked_at, expires_at FROM revocations
WHERE revoked_at >= $1 AND expires_at > $2
ORDER BY revoked_at, id
