SELECT state, count(*) AS n FROM wf_runs GROUP BY state
