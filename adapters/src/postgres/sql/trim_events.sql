-- Keeps the newest $1 events.
DELETE FROM events WHERE seq <= (SELECT max(seq) FROM events) - $1
