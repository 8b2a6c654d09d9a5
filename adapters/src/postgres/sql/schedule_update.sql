UPDATE schedules
SET last_fire = CASE WHEN $3::bigint IS NULL THEN last_fire
                     ELSE greatest(coalesce(last_fire, $3::bigint), $3::bigint) END,
    next_fire = $4,
    last_error = $5,
    drift_ms = coalesce($6, drift_ms)
WHERE id = $1 AND EXISTS (SELECT 1 FROM beat_leader WHERE id = 1 AND token = $2)
