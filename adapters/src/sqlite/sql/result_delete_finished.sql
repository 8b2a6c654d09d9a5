-- Deletes the record of task ?2 in namespace ?1 when it is finished (a terminal state).
DELETE FROM stem_results
WHERE ns = ?1 AND id = ?2
  AND state IN ('success', 'failure', 'revoked', 'expired', 'skipped')
