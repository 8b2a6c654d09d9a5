SELECT holder, token, expires_at FROM beat_leader WHERE id = 1 AND expires_at > $1 AND holder <> ''
