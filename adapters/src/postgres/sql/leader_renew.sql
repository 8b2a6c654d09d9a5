-- Renews the beat lock for $3 ms on the server's clock.
UPDATE beat_leader SET expires_at = (extract(epoch FROM statement_timestamp()) * 1000)::bigint + $3::bigint
WHERE id = 1 AND holder = $1 AND token = $2
