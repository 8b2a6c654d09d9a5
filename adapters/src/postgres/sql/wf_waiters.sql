-- Waiters oldest first (since, run, step index), of topic $1 or all; at most $2.
SELECT * FROM wf_waiters
WHERE $1::text IS NULL OR topic = $1::text
ORDER BY since, run, idx
LIMIT $2
