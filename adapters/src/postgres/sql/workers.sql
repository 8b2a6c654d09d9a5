-- Heartbeats still within their TTL on the server's clock.
SELECT body FROM heartbeats WHERE expires_at > (extract(epoch FROM statement_timestamp()) * 1000)::bigint ORDER BY worker
