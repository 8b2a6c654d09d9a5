-- Gives back row $1 held with token $2: ready again at $3, with the replacement envelope when
-- $4 (payload) is not null ($5 task id, $6 queue, $7 priority). The release trigger notifies.
WITH known AS (
    INSERT INTO queues (name) SELECT $6::text WHERE $6::text IS NOT NULL
    ON CONFLICT (name) DO NOTHING
)
UPDATE tasks
SET lease_owner = NULL,
    lease_token = NULL,
    eta = $3::bigint,
    visible_at = $3::bigint,
    deliveries = 0,
    payload = coalesce($4::text, payload),
    task_id = coalesce($5::text, task_id),
    queue = coalesce($6::text, queue),
    priority = coalesce($7::smallint, priority)
WHERE id = $1::bigint AND lease_token = $2::text
