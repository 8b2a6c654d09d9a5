-- Raises the fairness clock of queue ?2 (namespace ?1) to ?3 if that is larger.
INSERT INTO stem_fair_clocks (ns, queue, vt) VALUES (?1, ?2, ?3)
ON CONFLICT (ns, queue) DO UPDATE SET vt = MAX(vt, excluded.vt)
