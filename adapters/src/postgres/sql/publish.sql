-- Publishes a batch: $1 task ids, $2 queues, $3 priorities, $4 etas (ready-at, epoch ms; null:
-- now), $5 payloads, $6 created_at. A task is ready at the later of its eta and now on the
-- server's clock. Registers the queues in the same statement.
WITH known AS (
    INSERT INTO queues (name)
    SELECT DISTINCT q FROM UNNEST($2::text[]) AS q
    ON CONFLICT (name) DO NOTHING
),
clock AS (
    SELECT (extract(epoch FROM statement_timestamp()) * 1000)::bigint AS now
)
INSERT INTO tasks (task_id, queue, priority, eta, visible_at, payload, created_at)
SELECT t.task_id, t.queue, t.priority, greatest(t.eta, clock.now), greatest(t.eta, clock.now),
       t.payload, t.created_at
FROM clock,
    UNNEST($1::text[], $2::text[], $3::smallint[], $4::bigint[], $5::text[], $6::bigint[])
    WITH ORDINALITY AS t(task_id, queue, priority, eta, payload, created_at, n)
ORDER BY t.n
