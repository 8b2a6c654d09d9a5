SELECT letter FROM stem_dead WHERE ns = ?1 AND queue = ?2 ORDER BY seq LIMIT ?3
