INSERT INTO stem_requests (ns, target, sent_at, body) VALUES (?1, ?2, ?3, ?4)
