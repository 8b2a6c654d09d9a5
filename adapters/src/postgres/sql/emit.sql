-- Appends events ($1 times, $2 bodies) in order, one statement.
INSERT INTO events (at, body)
SELECT e.at, e.body FROM UNNEST($1::bigint[], $2::text[]) WITH ORDINALITY AS e(at, body, n)
ORDER BY e.n
