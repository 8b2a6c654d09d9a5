SELECT run, idx, name, kind, state, attempt, data, started_at, updated_at, finished_at
FROM stem_wf_steps WHERE ns = ?1 AND run = ?2 ORDER BY idx
