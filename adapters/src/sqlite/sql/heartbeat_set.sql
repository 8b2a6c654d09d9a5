INSERT OR REPLACE INTO stem_heartbeats (ns, worker, expires_at, body) VALUES (?1, ?2, ?3, ?4)
