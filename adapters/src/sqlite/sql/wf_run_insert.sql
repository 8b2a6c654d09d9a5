INSERT INTO stem_wf_runs (ns, id, workflow, version, queue, state, data, outcome, seq, resume_id,
    generation, created_at, updated_at, suspended_at, wake_at, finished_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
ON CONFLICT (ns, id) DO NOTHING
