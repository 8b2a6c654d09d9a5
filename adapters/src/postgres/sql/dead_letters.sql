-- Dead letters of queue $1, oldest first, at most $2.
SELECT letter FROM dead_letters WHERE queue = $1 ORDER BY dead_at, seq LIMIT $2
