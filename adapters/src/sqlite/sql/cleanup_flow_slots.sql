DELETE FROM stem_flow_slots WHERE expires_at <= ?1
