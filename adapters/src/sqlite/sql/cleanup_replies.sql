DELETE FROM stem_replies WHERE at < ?1
