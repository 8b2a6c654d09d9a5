-- In how many ms (on the server's clock) the next task of queues $1 becomes visible (a delayed
-- eta or a lease expiry).
SELECT min(n.next) - (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS next
FROM UNNEST($1::text[]) AS q(name)
CROSS JOIN LATERAL (SELECT min(visible_at) AS next FROM tasks WHERE queue = q.name) AS n
