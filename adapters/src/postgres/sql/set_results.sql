-- Upserts records: $1 ids, $2 states, $3 record JSON, $4 updated_at, $5 expires_at. Ids are
-- unique within a batch (the caller keeps the last record of each). Terminal states notify.
INSERT INTO results (id, state, record, updated_at, expires_at)
SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])
ON CONFLICT (id) DO UPDATE
SET state = EXCLUDED.state,
    record = EXCLUDED.record,
    updated_at = EXCLUDED.updated_at,
    expires_at = EXCLUDED.expires_at
