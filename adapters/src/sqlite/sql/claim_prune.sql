DELETE FROM stem_beat_claims WHERE expires_at <= ?1
