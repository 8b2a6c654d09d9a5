-- When the next task of queues $1 becomes visible (a delayed eta or a lease expiry).
SELECT min(visible_at) AS next FROM tasks WHERE queue = ANY($1::text[])
