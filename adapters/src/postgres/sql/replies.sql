SELECT body FROM control_replies WHERE request_id = $1 ORDER BY seq
