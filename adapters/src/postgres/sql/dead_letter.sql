-- Moves row $1 held with token $2 to the dead letters of queue $3 as letter $5 (id $4, dead at
-- $6), in one statement; a lost lease moves nothing.
WITH gone AS (
    DELETE FROM tasks WHERE id = $1::bigint AND lease_token = $2::text RETURNING id
)
INSERT INTO dead_letters (queue, id, dead_at, letter)
SELECT $3::text, $4::text, $6::bigint, $5::text FROM gone
ON CONFLICT (queue, id) DO UPDATE SET dead_at = EXCLUDED.dead_at, letter = EXCLUDED.letter
