SELECT w.run, w.idx, r.workflow, r.queue, r.seq, r.state, s.state
FROM stem_wf_waiters w
JOIN stem_wf_runs r ON r.ns = w.ns AND r.id = w.run
JOIN stem_wf_steps s ON s.ns = w.ns AND s.run = w.run AND s.idx = w.idx
WHERE w.ns = ?1 AND w.topic = ?2
ORDER BY w.run, w.idx
