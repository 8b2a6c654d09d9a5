INSERT OR REPLACE INTO stem_results (ns, id, state, record, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
