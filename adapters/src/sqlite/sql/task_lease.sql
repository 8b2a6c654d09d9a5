-- Leases up to ?3 ready tasks: highest priority, then unkeyed before keyed (fair_vt 0), then
-- virtual start, then oldest. RETURNING gives no order, so the caller sorts by
-- (priority DESC, fair_vt, id), and raises the queue's fairness clock when it took keyed rows.
UPDATE stem_tasks
SET state = 2, token = ?4, owner = ?5, visible_at = ?6, deliveries = deliveries + 1
WHERE id IN (
    SELECT id FROM stem_tasks
    WHERE ns = ?1 AND queue = ?2 AND state = 0
    ORDER BY priority DESC, fair_vt, id
    LIMIT ?3
)
RETURNING id, priority, deliveries, payload, fair_key, fair_vt
