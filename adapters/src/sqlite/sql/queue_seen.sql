INSERT OR IGNORE INTO stem_queues (ns, queue) VALUES (?1, ?2)
