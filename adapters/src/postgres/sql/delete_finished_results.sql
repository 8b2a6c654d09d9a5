-- Deletes the records of the task ids $1 that are finished (a terminal state); returns their ids.
DELETE FROM results
WHERE id = ANY($1::text[])
  AND state IN ('success', 'failure', 'revoked', 'expired', 'skipped')
RETURNING id
