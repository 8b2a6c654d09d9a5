INSERT OR IGNORE INTO stem_group_members (ns, id, idx, result) VALUES (?1, ?2, ?3, ?4)
