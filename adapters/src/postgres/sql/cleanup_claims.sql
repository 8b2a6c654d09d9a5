DELETE FROM beat_claims WHERE expires_at <= $1
