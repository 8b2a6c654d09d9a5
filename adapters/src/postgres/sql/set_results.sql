-- Upserts records fenced by generation: $1 ids, $2 states, $3 record JSON, $4 updated_at,
-- $5 expires_at, $6 generations, $7 now. A live record is replaced only by one whose generation
-- is no smaller. Ids are unique within a batch (the caller keeps the last record of each).
-- Returns the ids written. Terminal states notify.
INSERT INTO results (id, state, record, updated_at, expires_at, generation)
SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])
ON CONFLICT (id) DO UPDATE
SET state = EXCLUDED.state,
    record = EXCLUDED.record,
    updated_at = EXCLUDED.updated_at,
    expires_at = EXCLUDED.expires_at,
    generation = EXCLUDED.generation
WHERE results.generation <= EXCLUDED.generation OR results.expires_at <= $7::bigint
RETURNING id
