-- Removes a leased task if the receipt still holds its lease.
DELETE FROM stem_tasks WHERE id = ?1 AND token = ?2
RETURNING queue, priority, payload, fair_key, fair_vt
