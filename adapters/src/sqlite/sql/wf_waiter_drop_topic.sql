DELETE FROM stem_wf_waiters WHERE ns = ?1 AND topic = ?2
