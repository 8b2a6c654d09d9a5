INSERT INTO stem_tasks (ns, queue, priority, state, visible_at, deliveries, payload)
VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)
