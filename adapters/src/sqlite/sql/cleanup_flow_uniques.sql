DELETE FROM stem_flow_uniques WHERE expires_at <= ?1
