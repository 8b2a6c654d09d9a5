-- Events after cursor $1, at most $2, oldest first.
SELECT seq, body FROM events WHERE seq > $1 ORDER BY seq LIMIT $2
