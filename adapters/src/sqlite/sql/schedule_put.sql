INSERT INTO stem_schedules (ns, id, body) VALUES (?1, ?2, ?3)
ON CONFLICT (ns, id) DO UPDATE SET body = excluded.body
