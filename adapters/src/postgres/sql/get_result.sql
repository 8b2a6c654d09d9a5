-- The unexpired record of task $1 at time $2.
SELECT state, record FROM results WHERE id = $1 AND expires_at > $2
