-- Sizes of queue $1 now on the server's clock. An expired lease counts as ready: the next fetch takes it.
WITH clock AS (SELECT (extract(epoch FROM statement_timestamp()) * 1000)::bigint AS now)
SELECT
    count(*) FILTER (WHERE visible_at <= clock.now) AS ready,
    count(*) FILTER (WHERE visible_at > clock.now AND lease_token IS NULL) AS delayed,
    count(*) FILTER (WHERE visible_at > clock.now AND lease_token IS NOT NULL) AS leased,
    (SELECT count(*) FROM dead_letters WHERE queue = $1) AS dead
FROM tasks, clock
WHERE queue = $1
