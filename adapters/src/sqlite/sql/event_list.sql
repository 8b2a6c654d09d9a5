SELECT seq, body FROM stem_events WHERE ns = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3
