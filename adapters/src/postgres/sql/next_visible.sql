-- When the next task of queues $1 becomes visible (a delayed eta or a lease expiry).
SELECT min(n.next) AS next
FROM UNNEST($1::text[]) AS q(name)
CROSS JOIN LATERAL (SELECT min(visible_at) AS next FROM tasks WHERE queue = q.name) AS n
