SELECT * FROM wf_runs WHERE id = $1
