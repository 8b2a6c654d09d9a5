UPDATE beat_leader SET expires_at = $3 WHERE id = 1 AND holder = $1 AND token = $2
