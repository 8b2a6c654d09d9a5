-- Stores run $1 unless one with its id exists; returns the stored run and whether it is new.
-- No row when a concurrent start of the same id committed after this statement's snapshot
-- (the caller asks again).
WITH added AS (
    INSERT INTO wf_runs (id, workflow, version, queue, state, data, outcome, seq, resume_id,
                         generation, created_at, updated_at, suspended_at, wake_at, finished_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
    ON CONFLICT (id) DO NOTHING
    RETURNING *
)
SELECT *, true AS new FROM added
UNION ALL
SELECT *, false AS new FROM wf_runs WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM added)
