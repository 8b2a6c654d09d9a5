-- Writes step ($1 run, $3 index) if run $1 is live and claimed at generation $2: a new step, or
-- over one not final (`done`, `failed`); a final step also drops the step's waiter. The run's
-- row is held `FOR SHARE` (its latest version, after any claim, rewind or emit it waited for)
-- and the conflict check reads the step's latest version, so a fenced or late write changes
-- nothing. Returns how many steps were written (0 or 1).
WITH live AS (
    SELECT id FROM wf_runs
    WHERE id = $1 AND generation = $2::bigint AND state IN ('running', 'suspended')
    FOR SHARE
),
written AS (
    INSERT INTO wf_steps (run, idx, name, kind, state, attempt, data, started_at, updated_at,
                          finished_at)
    SELECT live.id, $3, $4, $5, $6, $7, $8, $9, $10, $11 FROM live
    ON CONFLICT (run, idx) DO UPDATE
    SET name = EXCLUDED.name,
        kind = EXCLUDED.kind,
        state = EXCLUDED.state,
        attempt = EXCLUDED.attempt,
        data = EXCLUDED.data,
        started_at = EXCLUDED.started_at,
        updated_at = EXCLUDED.updated_at,
        finished_at = EXCLUDED.finished_at
    WHERE wf_steps.state NOT IN ('done', 'failed')
    RETURNING run, idx, state
),
unwaited AS (
    DELETE FROM wf_waiters w USING written
    WHERE w.run = written.run AND w.idx = written.idx AND written.state IN ('done', 'failed')
)
SELECT count(*) AS written FROM written
