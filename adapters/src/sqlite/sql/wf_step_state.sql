SELECT state FROM stem_wf_steps WHERE ns = ?1 AND run = ?2 AND idx = ?3
