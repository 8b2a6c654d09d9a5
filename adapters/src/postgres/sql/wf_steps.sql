SELECT * FROM wf_steps WHERE run = $1 ORDER BY idx
