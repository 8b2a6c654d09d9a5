UPDATE stem_wf_runs
SET state = 'suspended', suspended_at = ?3, wake_at = ?4, updated_at = ?3
WHERE ns = ?1 AND id = ?2
