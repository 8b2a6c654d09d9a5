-- Removes dead letter $2 of queue $1 and publishes its envelope ($3 task id, $4 queue,
-- $5 priority, $6 eta (null: now; never before now on the server's clock), $7 payload, $8 created_at) in one statement.
WITH gone AS (
    DELETE FROM dead_letters WHERE queue = $1::text AND id = $2::text RETURNING id
), known AS (
    INSERT INTO queues (name) SELECT $4::text FROM gone
    ON CONFLICT (name) DO NOTHING
)
INSERT INTO tasks (task_id, queue, priority, eta, visible_at, payload, created_at)
SELECT $3::text, $4::text, $5::smallint,
       greatest($6::bigint, (extract(epoch FROM statement_timestamp()) * 1000)::bigint),
       greatest($6::bigint, (extract(epoch FROM statement_timestamp()) * 1000)::bigint),
       $7::text, $8::bigint
FROM gone
RETURNING id
