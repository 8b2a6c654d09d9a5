UPDATE stem_beat_leader SET holder = '', expires_at = 0 WHERE ns = ?1 AND holder = ?2 AND token = ?3
