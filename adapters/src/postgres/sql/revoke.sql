INSERT INTO revocations (id, terminate, reason, revoked_at, expires_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (id) DO UPDATE
SET terminate = EXCLUDED.terminate,
    reason = EXCLUDED.reason,
    revoked_at = EXCLUDED.revoked_at,
    expires_at = EXCLUDED.expires_at
