-- Upserts records fenced by generation: $1 ids, $2 states, $3 record JSON, $4 updated_at,
-- $5 how long each is kept (ms, from now on the server's clock), $6 generations. A live record is replaced only by one whose generation
-- is no smaller. Ids are unique within a batch (the caller keeps the last record of each).
-- Returns the ids written. Terminal states notify.
INSERT INTO results (id, state, record, updated_at, expires_at, generation)
SELECT u.id, u.state, u.record, u.updated_at, (extract(epoch FROM statement_timestamp()) * 1000)::bigint + u.keep, u.generation
FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])
    AS u(id, state, record, updated_at, keep, generation)
ON CONFLICT (id) DO UPDATE
SET state = EXCLUDED.state,
    record = EXCLUDED.record,
    updated_at = EXCLUDED.updated_at,
    expires_at = EXCLUDED.expires_at,
    generation = EXCLUDED.generation
WHERE results.generation <= EXCLUDED.generation OR results.expires_at <= (extract(epoch FROM statement_timestamp()) * 1000)::bigint
RETURNING id
