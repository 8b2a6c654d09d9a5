DELETE FROM results WHERE expires_at <= $1
