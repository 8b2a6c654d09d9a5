-- Keeps the newest ?2 events of the namespace.
DELETE FROM stem_events
WHERE ns = ?1 AND seq <= (
    SELECT seq FROM stem_events WHERE ns = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2
)
