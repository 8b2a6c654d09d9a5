-- Gives the next task of key ?3 in queue ?2 (namespace ?1) its virtual start with step ?4:
-- max(the key's last vt, the queue's clock) + step; returns it.
INSERT INTO stem_fair_keys (ns, queue, key, last_vt)
VALUES (?1, ?2, ?3,
        COALESCE((SELECT vt FROM stem_fair_clocks WHERE ns = ?1 AND queue = ?2), 0) + ?4)
ON CONFLICT (ns, queue, key) DO UPDATE
SET last_vt = MAX(last_vt, excluded.last_vt - ?4) + ?4
RETURNING last_vt
