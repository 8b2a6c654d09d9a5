-- Runs newest first (creation time, then id): state $1, workflow $2, created before $3 when not
-- NULL; at most $4.
SELECT * FROM wf_runs
WHERE ($1::text IS NULL OR state = $1::text)
  AND ($2::text IS NULL OR workflow = $2::text)
  AND ($3::bigint IS NULL OR created_at < $3::bigint)
ORDER BY created_at DESC, id DESC
LIMIT $4
