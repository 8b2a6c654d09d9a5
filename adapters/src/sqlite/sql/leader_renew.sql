UPDATE stem_beat_leader SET expires_at = ?4 WHERE ns = ?1 AND holder = ?2 AND token = ?3
