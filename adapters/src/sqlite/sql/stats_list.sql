SELECT minute, name, count FROM stem_stats_minutes
WHERE ns = ?1 AND minute >= ?2
ORDER BY minute, name
