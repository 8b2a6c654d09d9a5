-- Emits event $2 on topic $1 at time $3: takes every waiter of the topic whose run is live and
-- step not final. One statement: the runs with a waiter on the topic are locked first, in id
-- order (after any write of theirs this waited for: every write locks the run before its steps
-- or waiters, so none deadlocks with this), then their waiters of the topic are deleted — a
-- waiter another emit took first is gone, so each is taken once — and each taken step not
-- final (its latest version) becomes `done` with the event. Returns the woken runs, by run and
-- step index, with the sequence to publish: the run's (as locked) plus one.
WITH runs AS MATERIALIZED (
    SELECT r.id, r.workflow, r.queue, r.state, r.seq FROM wf_runs r
    WHERE r.id IN (SELECT w.run FROM wf_waiters w WHERE w.topic = $1)
    ORDER BY r.id
    FOR NO KEY UPDATE OF r
),
taken AS (
    DELETE FROM wf_waiters w USING runs
    WHERE w.topic = $1 AND w.run = runs.id
    RETURNING w.run, w.idx
),
stepped AS (
    UPDATE wf_steps s
    SET state = 'done', data = $2, updated_at = $3::bigint, finished_at = $3::bigint
    FROM taken t JOIN runs ON runs.id = t.run
    WHERE s.run = t.run AND s.idx = t.idx
      AND runs.state IN ('running', 'suspended')
      AND s.state NOT IN ('done', 'failed')
    RETURNING s.run, s.idx
)
SELECT st.run, runs.workflow, runs.queue, st.idx, runs.seq + 1 AS seq
FROM stepped st JOIN runs ON runs.id = st.run
ORDER BY st.run, st.idx
