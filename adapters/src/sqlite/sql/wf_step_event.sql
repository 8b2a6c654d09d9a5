UPDATE stem_wf_steps SET state = 'done', data = ?4, updated_at = ?5, finished_at = ?5
WHERE ns = ?1 AND run = ?2 AND idx = ?3
