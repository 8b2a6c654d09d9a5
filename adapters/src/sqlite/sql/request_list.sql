SELECT body FROM stem_requests
WHERE ns = ?1 AND sent_at > ?2 AND (target IS NULL OR target = ?3)
ORDER BY sent_at, seq
