DELETE FROM revocations WHERE expires_at <= $1
