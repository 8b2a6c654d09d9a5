DELETE FROM heartbeats WHERE expires_at <= $1
