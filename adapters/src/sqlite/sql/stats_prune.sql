DELETE FROM stem_stats_minutes WHERE ns = ?1 AND minute < ?2
