-- The live beat lock, judged on the server's clock.
SELECT holder, token, expires_at FROM beat_leader
WHERE id = 1 AND expires_at > (extract(epoch FROM statement_timestamp()) * 1000)::bigint AND holder <> ''
