INSERT INTO stem_replies (ns, request_id, at, body) VALUES (?1, ?2, ?3, ?4)
