UPDATE beat_leader SET holder = '', expires_at = 0 WHERE id = 1 AND holder = $1 AND token = $2
