INSERT INTO stem_dead (ns, queue, id, dead_at, letter) VALUES (?1, ?2, ?3, ?4, ?5)
