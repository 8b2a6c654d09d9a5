-- Heartbeats still within their TTL at $1.
SELECT body FROM heartbeats WHERE expires_at > $1 ORDER BY worker
