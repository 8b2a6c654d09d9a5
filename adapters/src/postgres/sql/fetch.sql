-- Leases up to $3 visible tasks of queues $1 at time $2 for consumer $4 with token $5 until $6.
-- Visible: ready and free, or leased with an expired lease (taken over, deliveries + 1).
-- One index-ordered scan per queue (a plain `queue = ANY(...)` would sort the whole backlog);
-- `eta <= now` holds for every visible row and bounds the scan in the index.
WITH picked AS (
    SELECT c.id
    FROM UNNEST($1::text[]) AS q(name)
    CROSS JOIN LATERAL (
        SELECT id, priority, eta FROM tasks
        WHERE queue = q.name AND eta <= $2 AND visible_at <= $2
        ORDER BY priority DESC, eta, id
        LIMIT $3
        FOR UPDATE SKIP LOCKED
    ) AS c
    ORDER BY c.priority DESC, c.eta, c.id
    LIMIT $3
)
UPDATE tasks AS t
SET lease_owner = $4, lease_token = $5, visible_at = $6, deliveries = t.deliveries + 1
FROM picked
WHERE t.id = picked.id
RETURNING t.id, t.queue, t.priority, t.eta, t.deliveries, t.payload,
    -- The lease's generation: the statement's start on the server clock, in µs.
    (extract(epoch FROM statement_timestamp()) * 1000000)::bigint AS generation
