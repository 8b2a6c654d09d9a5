-- Drops fairness state that no longer changes anything: a key whose last vt is at or below its
-- queue's clock would start at the clock anyway.
DELETE FROM fair_keys k USING fair_clocks c
WHERE k.queue = c.queue AND k.last_vt <= c.vt
