-- Leases up to $2 visible tasks of queues $1 for consumer $3 with token $4 for $5 ms.
-- Visible: ready and free, or leased with an expired lease (taken over, deliveries + 1).
-- Every time is the server's clock (the statement's start), never the worker's.
-- One index-ordered scan per queue (a plain `queue = ANY(...)` would sort the whole backlog);
-- `eta <= now` holds for every visible row.
-- Within a priority, unkeyed tasks (fair_vt 0) come first, oldest first; then keyed ones by
-- virtual start. When keyed rows were leased, the queue's fairness clock rises to the largest
-- vt leased, in this statement; otherwise no clock row is touched (nor locked).
WITH clock AS (
    SELECT (extract(epoch FROM statement_timestamp()) * 1000)::bigint AS now
),
picked AS (
    SELECT c.id
    FROM clock
    CROSS JOIN UNNEST($1::text[]) AS q(name)
    CROSS JOIN LATERAL (
        SELECT id, priority, fair_vt, eta FROM tasks
        WHERE queue = q.name AND eta <= clock.now AND visible_at <= clock.now
        ORDER BY priority DESC, fair_vt, eta, id
        LIMIT $2
        FOR UPDATE SKIP LOCKED
    ) AS c
    ORDER BY c.priority DESC, c.fair_vt, c.eta, c.id
    LIMIT $2
),
leased AS (
    UPDATE tasks AS t
    SET lease_owner = $3, lease_token = $4, visible_at = clock.now + $5::bigint,
        deliveries = t.deliveries + 1
    FROM picked, clock
    WHERE t.id = picked.id
    RETURNING t.id, t.queue, t.priority, t.fair_key, t.fair_vt, t.eta, t.deliveries, t.payload,
        -- The lease's generation: the statement's start on the server clock, in µs.
        (extract(epoch FROM statement_timestamp()) * 1000000)::bigint AS generation
),
raised AS (
    INSERT INTO fair_clocks AS f (queue, vt)
    SELECT l.queue, max(l.fair_vt) FROM leased l
    WHERE l.fair_key IS NOT NULL
    GROUP BY l.queue
    ORDER BY l.queue
    ON CONFLICT (queue) DO UPDATE SET vt = greatest(f.vt, EXCLUDED.vt)
)
SELECT id, queue, priority, fair_vt, eta, deliveries, payload, generation FROM leased
