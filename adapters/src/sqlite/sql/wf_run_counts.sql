SELECT state, count(*) FROM stem_wf_runs WHERE ns = ?1 GROUP BY state
