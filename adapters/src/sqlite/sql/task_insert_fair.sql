INSERT INTO stem_tasks (ns, queue, priority, state, visible_at, deliveries, payload, fair_key,
                        fair_vt)
VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?8)
