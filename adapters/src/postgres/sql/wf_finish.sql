SELECT * FROM wf_finish($1, $2, $3, $4, $5)
