-- The unexpired records at time $1, newest first: state $2, task name $3, queue $4 and updated
-- at or after $5 when not NULL; at most $6.
SELECT id, record FROM results
WHERE expires_at > $1
  AND ($2::text IS NULL OR state = $2::text)
  AND ($3::text IS NULL OR record::jsonb ->> 'name' = $3::text)
  AND ($4::text IS NULL OR record::jsonb ->> 'queue' = $4::text)
  AND ($5::bigint IS NULL OR updated_at >= $5::bigint)
ORDER BY updated_at DESC, id
LIMIT $6
