SELECT state, generation FROM stem_wf_runs WHERE ns = ?1 AND id = ?2
