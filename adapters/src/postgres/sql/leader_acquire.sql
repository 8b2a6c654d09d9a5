-- Takes the beat lock for holder $1 for $2 ms on the server's clock.
INSERT INTO beat_leader (id, holder, token, expires_at) VALUES (1, $1, 1, (extract(epoch FROM statement_timestamp()) * 1000)::bigint + $2::bigint)
ON CONFLICT (id) DO UPDATE SET
    token = CASE WHEN beat_leader.holder = EXCLUDED.holder THEN beat_leader.token
                 ELSE beat_leader.token + 1 END,
    holder = EXCLUDED.holder,
    expires_at = EXCLUDED.expires_at
WHERE beat_leader.holder = EXCLUDED.holder OR beat_leader.expires_at <= (extract(epoch FROM statement_timestamp()) * 1000)::bigint
RETURNING token
