SELECT topic, run, idx, deadline, since FROM stem_wf_waiters
WHERE ns = ?1 AND topic = ?2 ORDER BY since, run, idx LIMIT ?3
