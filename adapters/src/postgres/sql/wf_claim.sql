-- Resume $3 (sequence $2, 0 for a nudge; delivery generation $4) claims run $1 at time $5.
-- One statement: the run's row is locked first (`old`: its latest version, after any claim it
-- waited for), and the update's conditions read that version, so of claimers racing for one
-- suspension exactly one wins. No row: no such run; `id` NULL: refused, `previous` says
-- whether the run has ended; otherwise the claimed run and its state before.
WITH old AS MATERIALIZED (
    SELECT id, state, seq, resume_id, generation FROM wf_runs WHERE id = $1 FOR UPDATE
),
claimed AS (
    UPDATE wf_runs r
    SET seq = CASE WHEN $2::bigint = 0 THEN old.seq + 1 ELSE $2::bigint END,
        resume_id = $3::text,
        generation = $4::bigint,
        state = 'running',
        wake_at = NULL,
        updated_at = $5::bigint
    FROM old
    WHERE r.id = old.id
      AND old.state IN ('running', 'suspended')
      AND $4::bigint > old.generation
      AND ($2::bigint = 0
           OR $2::bigint > old.seq
           OR ($2::bigint = old.seq AND old.resume_id = $3::text))
    RETURNING r.*
)
SELECT old.state AS previous, c.*
FROM old LEFT JOIN claimed c ON true
