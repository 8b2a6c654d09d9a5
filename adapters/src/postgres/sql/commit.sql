-- Commits a batch of outcomes in one statement (so no transaction is ever left open by a
-- worker that freezes between round trips), each whole or not at all, fenced by its lease.
-- Per commit (arrays, in order): $1 row id, $2 lease token, $3 op ('ack'|'release'|'dead');
--   record (null id: none) $4 id, $5 state, $6 JSON, $7 updated_at, $8 generation;
--   release: $10 delay ms, $11 payload (null: the same), $12 task id, $13 queue, $14 priority;
--   dead letter: $15 queue, $16 letter id, $17 letter JSON, $18 dead_at.
-- $9 how long records are kept (ms). Follow-ups (arrays): $19 commit index (1-based),
--   $20 task id, $21 queue, $22 priority, $23 eta (null: now), $24 payload, $25 created_at,
--   $26 fairness key (null: none), $27 fairness step (1,000,000 / weight).
-- A release keeps its row, so its fairness key and virtual start.
-- Every "now" (a release's ready-at, a follow-up's earliest start, records' expiry) is the
-- server's clock at the statement's start, never the worker's.
-- Returns per commit its index, whether it was applied, and the lease owner now when not.
WITH clock AS (
    SELECT (extract(epoch FROM statement_timestamp()) * 1000)::bigint AS now
),
c AS (
    SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[],
                         $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[],
                         $10::bigint[], $11::text[], $12::text[], $13::text[], $14::smallint[],
                         $15::text[], $16::text[], $17::text[], $18::bigint[])
        WITH ORDINALITY AS c(row_id, token, op, rec_id, rec_state, rec_json, rec_updated,
                             rec_gen, rel_at, rel_payload, rel_task, rel_queue, rel_priority,
                             dead_queue, dead_id, dead_json, dead_at, n)
),
held AS (
    -- `t.id = ANY($1)` lets the planner walk the primary key instead of scanning the table.
    SELECT c.* FROM c JOIN tasks t ON t.id = c.row_id AND t.lease_token = c.token
    WHERE t.id = ANY($1::bigint[])
    FOR UPDATE OF t
),
removed AS (
    DELETE FROM tasks t USING held h
    WHERE t.id = h.row_id AND h.op IN ('ack', 'dead') AND t.id = ANY($1::bigint[])
),
released AS (
    UPDATE tasks t
    SET lease_owner = NULL,
        lease_token = NULL,
        eta = clock.now + h.rel_at,
        visible_at = clock.now + h.rel_at,
        deliveries = 0,
        payload = coalesce(h.rel_payload, t.payload),
        task_id = coalesce(h.rel_task, t.task_id),
        queue = coalesce(h.rel_queue, t.queue),
        priority = coalesce(h.rel_priority, t.priority)
    FROM held h, clock
    WHERE t.id = h.row_id AND h.op = 'release' AND t.id = ANY($1::bigint[])
),
buried AS (
    INSERT INTO dead_letters (queue, id, dead_at, letter)
    SELECT DISTINCT ON (h.dead_queue, h.dead_id) h.dead_queue, h.dead_id, h.dead_at, h.dead_json
    FROM held h WHERE h.op = 'dead'
    ORDER BY h.dead_queue, h.dead_id, h.n DESC
    ON CONFLICT (queue, id) DO UPDATE SET dead_at = EXCLUDED.dead_at, letter = EXCLUDED.letter
),
recorded AS (
    INSERT INTO results (id, state, record, updated_at, expires_at, generation)
    SELECT DISTINCT ON (h.rec_id) h.rec_id, h.rec_state, h.rec_json, h.rec_updated,
           clock.now + $9::bigint, h.rec_gen
    FROM held h, clock WHERE h.rec_id IS NOT NULL
    ORDER BY h.rec_id, h.n DESC
    ON CONFLICT (id) DO UPDATE
    SET state = EXCLUDED.state,
        record = EXCLUDED.record,
        updated_at = EXCLUDED.updated_at,
        expires_at = EXCLUDED.expires_at,
        generation = EXCLUDED.generation
    WHERE results.generation <= EXCLUDED.generation
       OR results.expires_at <= (extract(epoch FROM statement_timestamp()) * 1000)::bigint
),
f AS (
    SELECT f.*,
           sum(f.step) OVER (PARTITION BY f.queue, f.fair_key ORDER BY f.k) AS upto
    FROM UNNEST($19::bigint[], $20::text[], $21::text[], $22::smallint[], $23::bigint[],
                $24::text[], $25::bigint[], $26::text[], $27::bigint[])
        WITH ORDINALITY AS f(n, task_id, queue, priority, eta, payload, created_at, fair_key,
                             step, k)
    WHERE f.n IN (SELECT h.n FROM held h)
),
spans AS (
    SELECT f.queue, f.fair_key, sum(f.step)::bigint AS total
    FROM f WHERE f.fair_key IS NOT NULL
    GROUP BY f.queue, f.fair_key
),
-- Keyed follow-ups get virtual starts as in publish_fair.sql (no row when none is keyed).
fair AS (
    INSERT INTO fair_keys AS k (queue, key, last_vt)
    SELECT s.queue, s.fair_key, coalesce(fc.vt, 0) + s.total
    FROM spans s LEFT JOIN fair_clocks fc ON fc.queue = s.queue
    ORDER BY s.queue, s.fair_key
    ON CONFLICT (queue, key) DO UPDATE
    SET last_vt = greatest(k.last_vt, EXCLUDED.last_vt - (
        SELECT s.total FROM spans s WHERE s.queue = k.queue AND s.fair_key = k.key
    )) + (SELECT s.total FROM spans s WHERE s.queue = k.queue AND s.fair_key = k.key)
    RETURNING k.queue, k.key, k.last_vt
),
followed AS (
    INSERT INTO tasks (task_id, queue, priority, eta, visible_at, payload, created_at, fair_key,
                       fair_vt)
    SELECT f.task_id, f.queue, f.priority, greatest(f.eta, clock.now),
           greatest(f.eta, clock.now), f.payload, f.created_at, f.fair_key,
           coalesce(fair.last_vt - s.total + f.upto, 0)
    FROM clock, f
    LEFT JOIN spans s ON s.queue = f.queue AND s.fair_key = f.fair_key
    LEFT JOIN fair ON fair.queue = f.queue AND fair.key = f.fair_key
    ORDER BY f.k
),
known AS (
    INSERT INTO queues (name)
    SELECT DISTINCT q FROM (
        SELECT f.queue AS q FROM f
        UNION SELECT h.rel_queue FROM held h WHERE h.rel_queue IS NOT NULL
    ) AS names
    ON CONFLICT (name) DO NOTHING
)
SELECT c.n, (h.n IS NOT NULL) AS applied, t.lease_owner AS owner
FROM c
LEFT JOIN held h ON h.n = c.n
LEFT JOIN (SELECT id, lease_owner FROM tasks WHERE id = ANY($1::bigint[])) AS t ON t.id = c.row_id
ORDER BY c.n
