INSERT INTO heartbeats (worker, at, expires_at, body) VALUES ($1, $2, (extract(epoch FROM statement_timestamp()) * 1000)::bigint + $3::bigint, $4)
ON CONFLICT (worker) DO UPDATE
SET at = EXCLUDED.at, expires_at = EXCLUDED.expires_at, body = EXCLUDED.body
