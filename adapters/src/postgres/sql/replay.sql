-- Removes dead letter $2 of queue $1 and publishes its envelope ($3 task id, $4 queue,
-- $5 priority, $6 eta (null: now; never before now on the server's clock), $7 payload,
-- $8 created_at, $9 fairness key (null: none), $10 fairness step) in one statement; a keyed
-- envelope gets its virtual start as in publish_fair.sql.
WITH gone AS (
    DELETE FROM dead_letters WHERE queue = $1::text AND id = $2::text RETURNING id
), known AS (
    INSERT INTO queues (name) SELECT $4::text FROM gone
    ON CONFLICT (name) DO NOTHING
), fair AS (
    INSERT INTO fair_keys AS k (queue, key, last_vt)
    SELECT $4::text, $9::text,
           coalesce((SELECT vt FROM fair_clocks WHERE queue = $4::text), 0) + $10::bigint
    FROM gone WHERE $9::text IS NOT NULL
    ON CONFLICT (queue, key) DO UPDATE
    SET last_vt = greatest(k.last_vt, EXCLUDED.last_vt - $10::bigint) + $10::bigint
    RETURNING k.last_vt
)
INSERT INTO tasks (task_id, queue, priority, eta, visible_at, payload, created_at, fair_key,
                   fair_vt)
SELECT $3::text, $4::text, $5::smallint,
       greatest($6::bigint, (extract(epoch FROM statement_timestamp()) * 1000)::bigint),
       greatest($6::bigint, (extract(epoch FROM statement_timestamp()) * 1000)::bigint),
       $7::text, $8::bigint, $9::text, coalesce((SELECT last_vt FROM fair), 0)
FROM gone
RETURNING id
