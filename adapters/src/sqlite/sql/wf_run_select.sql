SELECT id, workflow, version, queue, state, data, outcome, seq, resume_id, generation,
    created_at, updated_at, suspended_at, wake_at, finished_at
FROM stem_wf_runs WHERE ns = ?1
