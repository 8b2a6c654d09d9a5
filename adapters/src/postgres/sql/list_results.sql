-- The unexpired records (on the server's clock), newest first (ties: the larger id first): state $1,
-- task name $2, queue $3, updated at or after $4, and after the cursor ($6, $7) when not NULL; at
-- most $5.
SELECT id, record FROM results
WHERE expires_at > (extract(epoch FROM statement_timestamp()) * 1000)::bigint
  AND ($1::text IS NULL OR state = $1::text)
  AND ($2::text IS NULL OR record::jsonb ->> 'name' = $2::text)
  AND ($3::text IS NULL OR record::jsonb ->> 'queue' = $3::text)
  AND ($4::bigint IS NULL OR updated_at >= $4::bigint)
  AND ($6::bigint IS NULL OR (updated_at, id) < ($6::bigint, $7::text))
ORDER BY updated_at DESC, id DESC
LIMIT $5
