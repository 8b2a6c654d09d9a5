SELECT body FROM stem_replies WHERE ns = ?1 AND request_id = ?2 ORDER BY seq
