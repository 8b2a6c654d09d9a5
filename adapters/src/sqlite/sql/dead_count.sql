SELECT COUNT(*) FROM stem_dead WHERE ns = ?1 AND queue = ?2
