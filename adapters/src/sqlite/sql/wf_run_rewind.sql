UPDATE stem_wf_runs
SET state = 'suspended', outcome = NULL, finished_at = NULL, wake_at = NULL, generation = ?3,
    suspended_at = ?4, updated_at = ?4
WHERE ns = ?1 AND id = ?2
