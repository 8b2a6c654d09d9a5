-- The unexpired record of task $1 (on the server's clock).
SELECT state, record FROM results WHERE id = $1 AND expires_at > (extract(epoch FROM statement_timestamp()) * 1000)::bigint
