SELECT topic, run, idx, deadline, since FROM stem_wf_waiters
WHERE ns = ?1 ORDER BY since, run, idx, topic LIMIT ?2
