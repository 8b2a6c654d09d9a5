-- Leases up to ?3 ready tasks, highest priority then oldest. RETURNING gives no order, so
-- the caller sorts by (priority DESC, id).
UPDATE stem_tasks
SET state = 2, token = ?4, owner = ?5, visible_at = ?6, deliveries = deliveries + 1
WHERE id IN (
    SELECT id FROM stem_tasks
    WHERE ns = ?1 AND queue = ?2 AND state = 0
    ORDER BY priority DESC, id
    LIMIT ?3
)
RETURNING id, priority, deliveries, payload
