INSERT INTO stem_events (ns, body) VALUES (?1, ?2)
