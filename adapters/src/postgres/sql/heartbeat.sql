INSERT INTO heartbeats (worker, at, expires_at, body) VALUES ($1, $2, $3, $4)
ON CONFLICT (worker) DO UPDATE
SET at = EXCLUDED.at, expires_at = EXCLUDED.expires_at, body = EXCLUDED.body
