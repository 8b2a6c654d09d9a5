INSERT OR REPLACE INTO stem_wf_waiters (ns, topic, run, idx, deadline, since)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)
