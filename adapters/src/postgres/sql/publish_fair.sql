-- Publishes a batch holding keyed tasks: as publish.sql ($1..$6), plus $7 fairness keys (null:
-- unkeyed) and $8 steps (1,000,000 / weight). One upsert per (queue, key) gives the key's tasks
-- of this batch consecutive virtual starts from max(last_vt, the queue's clock), in batch
-- order; the upsert's row lock orders concurrent publishes of one key.
WITH known AS (
    INSERT INTO queues (name)
    SELECT DISTINCT q FROM UNNEST($2::text[]) AS q
    ON CONFLICT (name) DO NOTHING
),
clock AS (
    SELECT (extract(epoch FROM statement_timestamp()) * 1000)::bigint AS now
),
t AS (
    SELECT u.*,
           sum(u.step) OVER (PARTITION BY u.queue, u.fair_key ORDER BY u.n) AS upto
    FROM UNNEST($1::text[], $2::text[], $3::smallint[], $4::bigint[], $5::text[], $6::bigint[],
                $7::text[], $8::bigint[])
        WITH ORDINALITY AS u(task_id, queue, priority, eta, payload, created_at, fair_key, step, n)
),
spans AS (
    SELECT t.queue, t.fair_key, sum(t.step)::bigint AS total
    FROM t WHERE t.fair_key IS NOT NULL
    GROUP BY t.queue, t.fair_key
),
keys AS (
    INSERT INTO fair_keys AS k (queue, key, last_vt)
    SELECT s.queue, s.fair_key, coalesce(c.vt, 0) + s.total
    FROM spans s LEFT JOIN fair_clocks c ON c.queue = s.queue
    ORDER BY s.queue, s.fair_key
    ON CONFLICT (queue, key) DO UPDATE
    SET last_vt = greatest(k.last_vt, EXCLUDED.last_vt - (
        SELECT s.total FROM spans s WHERE s.queue = k.queue AND s.fair_key = k.key
    )) + (SELECT s.total FROM spans s WHERE s.queue = k.queue AND s.fair_key = k.key)
    RETURNING k.queue, k.key, k.last_vt
)
INSERT INTO tasks (task_id, queue, priority, eta, visible_at, payload, created_at, fair_key,
                   fair_vt)
SELECT t.task_id, t.queue, t.priority, greatest(t.eta, clock.now), greatest(t.eta, clock.now),
       t.payload, t.created_at, t.fair_key,
       coalesce(keys.last_vt - s.total + t.upto, 0)
FROM clock, t
LEFT JOIN spans s ON s.queue = t.queue AND s.fair_key = t.fair_key
LEFT JOIN keys ON keys.queue = t.queue AND keys.key = t.fair_key
ORDER BY t.n
