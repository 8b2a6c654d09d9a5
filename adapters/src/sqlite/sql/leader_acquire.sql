INSERT INTO stem_beat_leader (ns, holder, token, expires_at) VALUES (?1, ?2, 1, ?3)
ON CONFLICT (ns) DO UPDATE SET
    token = CASE WHEN holder = excluded.holder THEN token ELSE token + 1 END,
    holder = excluded.holder,
    expires_at = excluded.expires_at
WHERE holder = excluded.holder OR expires_at <= ?4
RETURNING token
