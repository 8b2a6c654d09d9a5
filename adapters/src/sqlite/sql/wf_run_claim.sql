UPDATE stem_wf_runs
SET seq = ?3, resume_id = ?4, generation = ?5, state = 'running', wake_at = NULL, updated_at = ?6
WHERE ns = ?1 AND id = ?2
