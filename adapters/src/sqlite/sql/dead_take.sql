DELETE FROM stem_dead
WHERE seq = (
    SELECT seq FROM stem_dead WHERE ns = ?1 AND queue = ?2 AND id = ?3 ORDER BY seq LIMIT 1
)
