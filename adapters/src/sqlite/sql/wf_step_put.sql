INSERT OR REPLACE INTO stem_wf_steps (ns, run, idx, name, kind, state, attempt, data, started_at,
    updated_at, finished_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
