UPDATE stem_wf_runs
SET state = ?3, outcome = ?4, finished_at = ?5, wake_at = NULL, updated_at = ?5
WHERE ns = ?1 AND id = ?2
