SELECT * FROM wf_rewind($1, $2, $3)
