-- Creates a group's state, or renews its expiry (an expired one starts afresh).
INSERT INTO stem_groups (ns, id, size, expires_at) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (ns, id) DO UPDATE SET size = excluded.size, expires_at = excluded.expires_at
