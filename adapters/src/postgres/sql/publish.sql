-- Publishes a batch: $1 task ids, $2 queues, $3 priorities, $4 etas (ready-at, epoch ms),
-- $5 payloads, $6 created_at. Registers the queues in the same statement.
WITH known AS (
    INSERT INTO queues (name)
    SELECT DISTINCT q FROM UNNEST($2::text[]) AS q
    ON CONFLICT (name) DO NOTHING
)
INSERT INTO tasks (task_id, queue, priority, eta, visible_at, payload, created_at)
SELECT t.task_id, t.queue, t.priority, t.eta, t.eta, t.payload, t.created_at
FROM UNNEST($1::text[], $2::text[], $3::smallint[], $4::bigint[], $5::text[], $6::bigint[])
    WITH ORDINALITY AS t(task_id, queue, priority, eta, payload, created_at, n)
ORDER BY t.n
