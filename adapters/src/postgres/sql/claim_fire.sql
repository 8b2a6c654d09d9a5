WITH fenced AS (
    SELECT 1 FROM beat_leader WHERE id = 1 AND token = $3
), claimed AS (
    INSERT INTO beat_claims (schedule_id, fire_time, token, expires_at)
    SELECT $1, $2, $3, (extract(epoch FROM statement_timestamp()) * 1000)::bigint + $4::bigint FROM fenced
    ON CONFLICT DO NOTHING
    RETURNING schedule_id
), counted AS (
    UPDATE schedules
    SET last_fire = greatest(coalesce(last_fire, $2), $2), run_count = run_count + 1
    WHERE id IN (SELECT schedule_id FROM claimed)
    RETURNING id
)
SELECT count(*) AS claimed FROM claimed
