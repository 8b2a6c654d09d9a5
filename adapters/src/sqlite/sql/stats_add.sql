INSERT INTO stem_stats_minutes (ns, minute, name, count) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (ns, minute, name) DO UPDATE SET count = count + excluded.count
