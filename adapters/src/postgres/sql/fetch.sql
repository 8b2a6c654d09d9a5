-- Leases up to $3 visible tasks of queues $1 at time $2 for consumer $4 with token $5 until $6.
-- Visible: ready and free, or leased with an expired lease (taken over, deliveries + 1).
WITH picked AS (
    SELECT id FROM tasks
    WHERE queue = ANY($1::text[]) AND visible_at <= $2
    ORDER BY priority DESC, eta, id
    LIMIT $3
    FOR UPDATE SKIP LOCKED
)
UPDATE tasks AS t
SET lease_owner = $4, lease_token = $5, visible_at = $6, deliveries = t.deliveries + 1
FROM picked
WHERE t.id = picked.id
RETURNING t.id, t.queue, t.priority, t.eta, t.deliveries, t.payload
