-- Control requests sent after $1 for worker $2 or for everyone, oldest first.
SELECT body FROM control_requests
WHERE sent_at > $1 AND (target IS NULL OR target = $2)
ORDER BY sent_at, seq
