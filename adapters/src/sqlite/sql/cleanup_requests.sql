DELETE FROM stem_requests WHERE sent_at < ?1
