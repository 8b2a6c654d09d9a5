-- Sizes of queue $1 at time $2. An expired lease counts as ready: the next fetch takes it.
SELECT
    count(*) FILTER (WHERE visible_at <= $2) AS ready,
    count(*) FILTER (WHERE visible_at > $2 AND lease_token IS NULL) AS delayed,
    count(*) FILTER (WHERE visible_at > $2 AND lease_token IS NOT NULL) AS leased,
    (SELECT count(*) FROM dead_letters WHERE queue = $1) AS dead
FROM tasks
WHERE queue = $1
