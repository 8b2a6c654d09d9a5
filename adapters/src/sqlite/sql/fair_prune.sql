-- Drops fairness state that no longer changes anything: a key whose last vt is at or below its
-- queue's clock would start at the clock anyway.
DELETE FROM stem_fair_keys
WHERE last_vt <= (SELECT c.vt FROM stem_fair_clocks c
                  WHERE c.ns = stem_fair_keys.ns AND c.queue = stem_fair_keys.queue)
