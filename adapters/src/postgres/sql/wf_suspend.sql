SELECT wf_suspend($1, $2, $3, $4, $5, $6, $7, $8) AS suspended
